"""The host's sandbox launcher and its layers (bubblewrap, cgroups, seccomp, Landlock, rlimits)."""
