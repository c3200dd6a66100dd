"""Known-good: numpy's sliding_window_view for the windows, tensordot per group, and the
input gradient as a full correlation of the zero-stuffed output gradient with the flipped kernel.

Max-pooling through the four strided views of the input, with a mask of the first maximum.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _sizes(x, w, stride, padding, dilation, groups):
    c, f, cg = x.shape[1], w.shape[0], w.shape[1]
    if groups < 1 or c % groups or f % groups or cg != c // groups:
        raise ValueError(f"bad groups {groups} for {c} -> {f} channels with w {w.shape}")
    out = []
    for axis in range(2):
        reach = dilation[axis] * (w.shape[2 + axis] - 1) + 1
        size = x.shape[2 + axis] + 2 * padding[axis]
        if reach < 1 or reach > size:
            raise ValueError(f"kernel reach {reach} does not fit the padded size {size}")
        out.append((size - reach) // stride[axis] + 1)
    return out


def _cols(xp, kh, kw, oh, ow, stride, dilation):
    """(N, C, Hp, Wp) -> (N, C, OH, OW, KH, KW) as a view."""
    reach_h, reach_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    v = sliding_window_view(xp, (reach_h, reach_w), axis=(2, 3))
    return v[:, :, :stride[0] * (oh - 1) + 1:stride[0], :stride[1] * (ow - 1) + 1:stride[1], ::dilation[0], ::dilation[1]]


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    oh, ow = _sizes(x, w, stride, padding, dilation, groups)
    f, cg, kh, kw = w.shape
    fg = f // groups
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    cols = _cols(xp, kh, kw, oh, ow, stride, dilation)
    parts = [np.tensordot(cols[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg], axes=([1, 4, 5], [1, 2, 3]))
             for g in range(groups)]                                   # each (N, OH, OW, Fg)
    y = np.concatenate(parts, axis=-1).transpose(0, 3, 1, 2)
    return (y + b[:, None, None]).astype(x.dtype)


def conv2d_backward(dy, x, w, stride, padding, dilation, groups):
    oh, ow = _sizes(x, w, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    cols = _cols(xp, kh, kw, oh, ow, stride, dilation)
    dw = np.concatenate([np.tensordot(dy[:, g * fg:(g + 1) * fg], cols[:, g * cg:(g + 1) * cg],
                                      axes=([0, 2, 3], [0, 2, 3])) for g in range(groups)], axis=0)
    db = np.einsum("nfhw->f", dy)

    # dxp = full correlation of dy, zero-stuffed by the stride, with the kernel flipped and dilated.
    hp, wp = xp.shape[2:]
    rh, rw = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    stuffed = np.zeros((n, f, hp + rh - 1, wp + rw - 1), dtype=dy.dtype)
    stuffed[:, :, rh - 1:rh - 1 + stride[0] * (oh - 1) + 1:stride[0],
            rw - 1:rw - 1 + stride[1] * (ow - 1) + 1:stride[1]] = dy
    wins = sliding_window_view(stuffed, (rh, rw), axis=(2, 3))[:, :, :hp, :wp, ::dilation[0], ::dilation[1]]
    flipped = w[:, :, ::-1, ::-1]
    dxp = np.concatenate([np.tensordot(wins[:, g * fg:(g + 1) * fg], flipped[g * fg:(g + 1) * fg],
                                       axes=([1, 4, 5], [0, 2, 3])) for g in range(groups)], axis=-1)
    dxp = dxp.transpose(0, 3, 1, 2)                                    # (N, C, Hp, Wp)
    dx = dxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    return np.ascontiguousarray(dx).astype(x.dtype), dw.astype(x.dtype), db.astype(x.dtype)


def _quarters(x):
    h2, w2 = x.shape[2] // 2, x.shape[3] // 2
    return [x[:, :, a:2 * h2:2, b:2 * w2:2] for a in (0, 1) for b in (0, 1)]


def maxpool2x2_forward(x):
    a, b, c, d = _quarters(x)
    return np.maximum(np.maximum(a, b), np.maximum(c, d))


def maxpool2x2_backward(dy, x):
    top = maxpool2x2_forward(x)
    dx = np.zeros_like(x)
    free = np.ones(top.shape, dtype=bool)
    h2, w2 = top.shape[2:]
    for k, q in enumerate(_quarters(x)):
        hit = free & (q == top)
        dx[:, :, k // 2:2 * h2:2, k % 2:2 * w2:2] = dy * hit
        free &= ~hit
    return dx
