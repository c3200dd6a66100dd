# WRONG(rejected): imports scipy (numpy only)
import numpy as np
import scipy.signal  # noqa: F401


def _out_size(size, k, s, p, d, axis):
    reach = d * (k - 1) + 1                   # the dilated kernel's extent
    if reach > size + 2 * p:
        raise ValueError(f"the dilated kernel ({reach}) is larger than the padded input ({size + 2 * p}) along {axis}")
    return (size + 2 * p - reach) // s + 1


def _geometry(x_shape, w_shape, stride, padding, dilation, groups):
    n, c, h, wd = x_shape
    f, cg, kh, kw = w_shape
    if groups < 1 or c % groups or f % groups:
        raise ValueError(f"channels ({c} in, {f} out) are not divisible by groups ({groups})")
    if cg != c // groups:
        raise ValueError(f"w has {cg} input channels per group, expected {c // groups}")
    oh = _out_size(h, kh, stride[0], padding[0], dilation[0], "height")
    ow = _out_size(wd, kw, stride[1], padding[1], dilation[1], "width")
    return oh, ow


def _pad(x, padding):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _windows(xp, kh, kw, oh, ow, stride, dilation):
    """(N, C, Hp, Wp) -> (N, C, OH, OW, KH, KW): every output position's receptive field."""
    rows = (np.arange(oh) * stride[0])[:, None] + (np.arange(kh) * dilation[0])[None, :]   # (OH, KH)
    cols = (np.arange(ow) * stride[1])[:, None] + (np.arange(kw) * dilation[1])[None, :]   # (OW, KW)
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    oh, ow = _geometry(x.shape, w.shape, stride, padding, dilation, groups)
    n, c = x.shape[:2]
    f, cg, kh, kw = w.shape
    g = groups
    cols = _windows(_pad(x, padding), kh, kw, oh, ow, stride, dilation)
    cols = cols.reshape(n, g, cg, oh, ow, kh, kw)
    wg = w.reshape(g, f // g, cg, kh, kw)
    y = np.einsum("ngchwij,gfcij->ngfhw", cols, wg, optimize=True).reshape(n, f, oh, ow)
    return (y + b[None, :, None, None]).astype(x.dtype, copy=False)


def conv2d_backward(dy, x, w, stride, padding, dilation, groups):
    oh, ow = _geometry(x.shape, w.shape, stride, padding, dilation, groups)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    g = groups
    xp = _pad(x, padding)
    cols = _windows(xp, kh, kw, oh, ow, stride, dilation).reshape(n, g, cg, oh, ow, kh, kw)
    dyg = dy.reshape(n, g, f // g, oh, ow)
    wg = w.reshape(g, f // g, cg, kh, kw)

    db = dy.sum(axis=(0, 2, 3))
    dw = np.einsum("ngfhw,ngchwij->gfcij", dyg, cols, optimize=True).reshape(f, cg, kh, kw)
    dcols = np.einsum("ngfhw,gfcij->ngchwij", dyg, wg, optimize=True).reshape(n, c, oh, ow, kh, kw)

    # col2im: each kernel offset touches a strided grid of the padded input, once per output position.
    dxp = np.zeros_like(xp)
    for i in range(kh):
        r0 = i * dilation[0]
        for j in range(kw):
            c0 = j * dilation[1]
            dxp[:, :, r0:r0 + stride[0] * (oh - 1) + 1:stride[0],
                c0:c0 + stride[1] * (ow - 1) + 1:stride[1]] += dcols[..., i, j]
    ph, pw = padding
    dx = dxp[:, :, ph:ph + h, pw:pw + wd]
    return dx.astype(x.dtype, copy=False), dw.astype(x.dtype, copy=False), db.astype(x.dtype, copy=False)


def _pool_windows(x):
    """(N, C, H, W) -> (N, C, H//2, W//2, 4): each 2x2 window in row-major order; an odd last row/column is dropped."""
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    v = x[:, :, :2 * h2, :2 * w2].reshape(n, c, h2, 2, w2, 2)
    return v.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h2, w2, 4)


def maxpool2x2_forward(x):
    return _pool_windows(x).max(axis=-1)


def maxpool2x2_backward(dy, x):
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    first = _pool_windows(x).argmax(axis=-1)                       # argmax picks the first maximum
    onehot = (np.arange(4) == first[..., None]) * dy[..., None]    # (N, C, H2, W2, 4)
    win = onehot.reshape(n, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h2, 2 * w2)
    dx = np.zeros_like(x)
    dx[:, :, :2 * h2, :2 * w2] = win
    return dx
