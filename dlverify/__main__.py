"""`python -m dlverify`: the same as the `dlverify` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
