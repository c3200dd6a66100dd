"""conv2d_backprop: 2-D convolution and 2x2 max-pooling, forward and backward, by hand.

numpy and the standard library only. See README.md for the exact contract.
"""

import numpy as np


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation of x with w, plus b.

    x: (N, C, H, W); w: (F, C // groups, KH, KW); b: (F,); all one float dtype
    stride, padding, dilation: (h, w) tuples of ints; groups: int
    returns y: (N, F, OH, OW), x's dtype. Raises ValueError on a bad configuration.
    """
    raise NotImplementedError("conv2d_forward")


def conv2d_backward(dy, x, w, stride, padding, dilation, groups):
    """Gradients of sum(y * dy) with respect to x, w and b.

    dy: (N, F, OH, OW); returns (dx, dw, db) with the shapes of x, w and (F,), x's dtype.
    Raises ValueError on a bad configuration.
    """
    raise NotImplementedError("conv2d_backward")


def maxpool2x2_forward(x):
    """2x2 max-pooling, stride 2: (N, C, H, W) -> (N, C, H // 2, W // 2)."""
    raise NotImplementedError("maxpool2x2_forward")


def maxpool2x2_backward(dy, x):
    """dy: (N, C, H // 2, W // 2) -> dx: (N, C, H, W); a tie's gradient goes to the first maximum."""
    raise NotImplementedError("maxpool2x2_backward")
