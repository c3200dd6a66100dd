"""dlverify: a hands-on skills verifier for deep-learning engineers.

This package is the trusted host side. It never imports candidate code:
candidate code runs only in the sandbox child (see ../sandbox/).
"""

__version__ = "0.1.0"
