"""Steps 3 and 4: the job folder, the child's environment and device, the GPU choice, nvcc in
the sandbox, and the host's end of the result channel. How the sandbox itself is built is in
`dlverify/isolation/`."""
