"""Step 2: the static checks, made on the source before anything runs: forbidden imports,
reaching into the interpreter, missing entry points, and the CUDA source and inline assembly
screens that run before a compiler sees a candidate's file."""
