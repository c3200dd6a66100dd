"""dlverify: a hands-on skills verifier for deep-learning engineers.

This package is the trusted host side. It never imports candidate code:
candidate code runs only in the sandbox child (see ../sandbox/).
"""

__version__ = "0.1.0"

# GPU indices mean what nvidia-smi and Docker mean by them; this must be in the
# environment before anything initialises CUDA in this process (see launch/gpus.py).
from .launch import gpus as _gpus  # noqa: E402,F401  (imported for its effect)

del _gpus
