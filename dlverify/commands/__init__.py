"""The dlverify subcommands, one module per group."""
