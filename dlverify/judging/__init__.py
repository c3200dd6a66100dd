"""Steps 5 and 6: what came back, judged by the host. The run's evidence to statuses, each
case's outputs against the trusted answer, and the CPU throughput timing (the GPU's is in
`dlverify/gpu/`)."""
