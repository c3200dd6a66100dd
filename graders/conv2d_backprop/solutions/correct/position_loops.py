"""Known-good: explicit loops over groups and output positions, each window a small einsum.

Max-pooling walks every window and compares its four values in row-major order.
"""

import numpy as np


def _check(x, w, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if groups <= 0 or c % groups != 0 or f % groups != 0 or cg * groups != c:
        raise ValueError("channels do not split into groups")
    hp, wp = h + 2 * padding[0], wd + 2 * padding[1]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp:
        raise ValueError("kernel larger than the padded input")
    return (hp - eh) // stride[0] + 1, (wp - ew) // stride[1] + 1


def _window(i, j, kh, kw, stride, dilation):
    r, c = i * stride[0], j * stride[1]
    return (slice(r, r + dilation[0] * (kh - 1) + 1, dilation[0]),
            slice(c, c + dilation[1] * (kw - 1) + 1, dilation[1]))


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    oh, ow = _check(x, w, stride, padding, dilation, groups)
    n = x.shape[0]
    f, cg, kh, kw = w.shape
    fg = f // groups
    xp = np.zeros((n, x.shape[1], x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]), dtype=x.dtype)
    xp[:, :, padding[0]:padding[0] + x.shape[2], padding[1]:padding[1] + x.shape[3]] = x
    y = np.empty((n, f, oh, ow), dtype=x.dtype)
    for g in range(groups):
        wg = w[g * fg:(g + 1) * fg]                                        # (Fg, Cg, KH, KW)
        for i in range(oh):
            for j in range(ow):
                rows, cols = _window(i, j, kh, kw, stride, dilation)
                patch = xp[:, g * cg:(g + 1) * cg, rows, cols]             # (N, Cg, KH, KW)
                y[:, g * fg:(g + 1) * fg, i, j] = np.einsum("ncpq,fcpq->nf", patch, wg)
    return y + b[None, :, None, None]


def conv2d_backward(dy, x, w, stride, padding, dilation, groups):
    oh, ow = _check(x, w, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    xp = np.zeros((n, c, h + 2 * padding[0], wd + 2 * padding[1]), dtype=x.dtype)
    xp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for g in range(groups):
        cs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i in range(oh):
            for j in range(ow):
                rows, cols = _window(i, j, kh, kw, stride, dilation)
                d = dy[:, fs, i, j]                                        # (N, Fg)
                dw[fs] += np.einsum("nf,ncpq->fcpq", d, xp[:, cs, rows, cols])
                dxp[:, cs, rows, cols] += np.einsum("nf,fcpq->ncpq", d, w[fs])
    db = dy.sum(axis=0).sum(axis=-1).sum(axis=-1)
    return dxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd], dw, db


def maxpool2x2_forward(x):
    n, c, h, w = x.shape
    y = np.empty((n, c, h // 2, w // 2), dtype=x.dtype)
    for i in range(h // 2):
        for j in range(w // 2):
            y[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
    return y


def maxpool2x2_backward(dy, x):
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for a in range(n):
        for ch in range(c):
            for i in range(h // 2):
                for j in range(w // 2):
                    best = None
                    for p in range(2):                # row-major: the first maximum stays
                        for q in range(2):
                            v = x[a, ch, 2 * i + p, 2 * j + q]
                            if best is None or v > best[0]:
                                best = (v, p, q)
                    dx[a, ch, 2 * i + best[1], 2 * j + best[2]] = dy[a, ch, i, j]
    return dx
