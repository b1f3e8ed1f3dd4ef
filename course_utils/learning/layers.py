"""Neural-network layers with hand-written forward and backward passes (numpy, float64).

Each layer is a pair of functions in the style of cs231n:

    out, cache = <layer>_forward(inputs...)     # cache keeps what backward needs
    grads = <layer>_backward(dout, cache)       # dout = dL/dout, same shape as out

The backward pass applies the chain rule locally: given the gradient of the loss with respect
to the layer's output it returns the gradients with respect to each input. Losses return
``(loss, dscores)`` directly. Weight layouts follow torch (``w: (M, D)`` for linear,
``w: (F, C, KH, KW)`` for conv) so every function can be checked against
``torch.nn.functional``. Convolution and max-pooling come twice: a plain loop over every
output value (``conv2d_loop``, ``maxpool_loop``: read these first) and the vectorised layer
(``conv2d_forward``, ``maxpool_forward``) tested against it; so do the backward passes
(``linear_backward_loop``, ``conv2d_backward_loop``, ``maxpool_backward_loop``, and batch
norm through its graph node by node, ``batchnorm_backward_graph``, beside the collapsed
formula of ``batchnorm_backward``). ``conv2d_matrix`` writes the
convolution as one matrix, whose transpose is the backward pass to the input. The tools that
check the backward passes are in :mod:`course_utils.learning.gradcheck`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..validate import as_float_array, check_int, check_positive

Cache = tuple


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_dout(dout, shape: tuple[int, ...]) -> np.ndarray:
    dout = as_float_array(dout, "dout", allow_empty=True)
    if dout.shape != shape:
        raise ValueError(f"dout must have the output's shape {shape}, got {dout.shape}")
    return dout


# ---- linear ------------------------------------------------------------------------------
def linear_forward(x, w, b) -> tuple[np.ndarray, Cache]:
    """y = x w^T + b.

    x: (N, D), w: (M, D), b: (M,)  ->  out: (N, M)
    """
    x = as_float_array(x, "x", ndim=2)
    w = as_float_array(w, "w", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features per row but w expects {w.shape[1]} "
                         f"(x: {x.shape}, w: {w.shape} must be (N, D) and (M, D))")
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"b must have shape ({w.shape[0]},) to match w {w.shape}, got {b.shape}")
    return x @ w.T + b, (x, w)


def linear_backward(dout, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout: (N, M)  ->  dx: (N, D), dw: (M, D), db: (M,).

    Per sample this is dL/dx = W^T dL/dy (column vectors); summed over the batch for W and b.
    """
    x, w = cache
    dout = _check_dout(dout, (x.shape[0], w.shape[0]))
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def linear_backward_loop(dout, x, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear layer's backward pass as plain loops, one sample and one output at a time
    (slow, readable; :func:`linear_backward` is the same in three matrix products).

    Output m of sample n is y[n, m] = sum_d x[n, d] w[m, d] + b[m], so its gradient dout[n, m]
    flows to x[n, :] weighted by w[m, :], to w[m, :] weighted by x[n, :] and to b[m] as it is.
    x: (N, D), w: (M, D), dout: (N, M)  ->  dx: (N, D), dw: (M, D), db: (M,).
    """
    x = as_float_array(x, "x", ndim=2)
    w = as_float_array(w, "w", ndim=2)
    dout = _check_dout(dout, (x.shape[0], w.shape[0]))
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features per row but w expects {w.shape[1]}")
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros(w.shape[0])
    for n in range(x.shape[0]):
        for m in range(w.shape[0]):
            dx[n] += dout[n, m] * w[m]
            dw[m] += dout[n, m] * x[n]
            db[m] += dout[n, m]
    return dx, dw, db


# ---- element-wise activations ------------------------------------------------------------
def relu_forward(x) -> tuple[np.ndarray, Cache]:
    """max(x, 0) element-wise; x: any shape."""
    x = as_float_array(x, "x")
    return np.maximum(x, 0.0), (x,)


def relu_backward(dout, cache: Cache) -> np.ndarray:
    """The gradient passes where x > 0 and is blocked elsewhere (0 at x = 0, as in torch)."""
    (x,) = cache
    return _check_dout(dout, x.shape) * (x > 0)


def sigmoid_forward(x) -> tuple[np.ndarray, Cache]:
    """1 / (1 + exp(-x)) element-wise, computed without overflow; x: any shape."""
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s, (s,)


def sigmoid_backward(dout, cache: Cache) -> np.ndarray:
    """ds/dx = s (1 - s), at most 1/4: the source of vanishing gradients in deep sigmoid nets."""
    (s,) = cache
    return _check_dout(dout, s.shape) * s * (1.0 - s)


# ---- convolution -------------------------------------------------------------------------
def _check_conv_args(x, w, b, stride, padding):
    x = as_float_array(x, "x", ndim=4)
    w = as_float_array(w, "w", ndim=4)
    b = as_float_array(b, "b", ndim=1)
    stride, padding = check_int(stride, "stride", 1), check_int(padding, "padding", 0)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but w expects {w.shape[1]} "
                         f"(x: (N, C, H, W) = {x.shape}, w: (F, C, KH, KW) = {w.shape})")
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"b must have shape ({w.shape[0]},) to match w {w.shape}, got {b.shape}")
    kh, kw = w.shape[2:]
    if kh > x.shape[2] + 2 * padding or kw > x.shape[3] + 2 * padding:
        raise ValueError(f"w's kernel {kh}x{kw} is larger than the padded input "
                         f"{x.shape[2] + 2 * padding}x{x.shape[3] + 2 * padding}")
    return x, w, b, stride, padding


def conv2d_loop(x, w, b, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The convolution layer as plain loops, one output value at a time (slow, readable).

    x: (N, C, H, W), w: (F, C, KH, KW), b: (F,)  ->  out: (N, F, HO, WO) with
    out[n, f, i, j] = b[f] + sum over c, u, v of xp[n, c, i*stride + u, j*stride + v] w[f, c, u, v]
    (xp: x zero-padded by ``padding``; a cross-correlation, as torch's conv2d).
    """
    x, w, b, stride, padding = _check_conv_args(x, w, b, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n_images, _, hp, wp = xp.shape
    n_filters, _, kh, kw = w.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    out = np.zeros((n_images, n_filters, ho, wo))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(ho):
                for j in range(wo):
                    window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def conv2d_matrix(w, input_shape, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The convolution (no bias) of one image as a matrix M: conv(x).ravel() = M @ x.ravel().

    w: (F, C, KH, KW); input_shape: (C, H, W)  ->  M: (F * HO * WO, C * H * W), a sparse
    "doubly-block Toeplitz" matrix: row (f, i, j) holds the kernel w[f] at the window of
    output (i, j); zero padding drops the taps that fall outside the image. The backward pass
    to the input is the transpose: dx.ravel() = M.T @ dout.ravel().
    """
    w = as_float_array(w, "w", ndim=4)
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                       for d in input_shape)):
        raise ValueError(f"input_shape must be three positive integers (C, H, W), "
                         f"got {input_shape!r}")
    stride, pad = check_int(stride, "stride", 1), check_int(pad, "pad", 0)
    c, h, wd = (int(d) for d in input_shape)
    n_filters, wc, kh, kw = w.shape
    if wc != c:
        raise ValueError(f"input_shape has {c} channels but w expects {wc} (w: {w.shape})")
    if kh > h + 2 * pad or kw > wd + 2 * pad:
        raise ValueError(f"w's kernel {kh}x{kw} is larger than the padded input "
                         f"{h + 2 * pad}x{wd + 2 * pad}")
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    matrix = np.zeros((n_filters, ho, wo, c, h, wd))
    for i in range(ho):
        for j in range(wo):
            for u in range(kh):
                for v in range(kw):
                    r, s = i * stride + u - pad, j * stride + v - pad  # input pixel of tap (u, v)
                    if 0 <= r < h and 0 <= s < wd:
                        matrix[:, i, j, :, r, s] = w[:, :, u, v]
    return matrix.reshape(n_filters * ho * wo, c * h * wd)


def conv2d_forward(x, w, b, stride: int = 1, padding: int = 0) -> tuple[np.ndarray, Cache]:
    """Cross-correlation as in torch's conv2d, vectorized with sliding windows + einsum.

    x: (N, C, H, W), w: (F, C, KH, KW), b: (F,)  ->  out: (N, F, HO, WO) with
    HO = (H + 2 padding - KH) // stride + 1 (same for WO). Same result as :func:`conv2d_loop`.
    """
    x, w, b, stride, padding = _check_conv_args(x, w, b, stride, padding)
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # windows[n, c, i, j, u, v] = xp[n, c, i * stride + u, j * stride + v]
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncijuv,fcuv->nfij", windows, w, optimize=True) + b[:, None, None]
    return out, (x.shape, xp.shape, windows, w, stride, padding)


def conv2d_backward(dout, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout: (N, F, HO, WO)  ->  dx: (N, C, H, W), dw: (F, C, KH, KW), db: (F,).

    dw correlates the input windows with dout; dx scatters dout back through the kernel,
    one kernel offset (u, v) at a time: a loop over KH * KW taps, never over pixels.
    """
    x_shape, xp_shape, windows, w, stride, padding = cache
    n, _, ho, wo = windows.shape[:4]
    dout = _check_dout(dout, (n, w.shape[0], ho, wo))
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfij,ncijuv->fcuv", dout, windows, optimize=True)
    dxp = np.zeros(xp_shape)
    for u in range(w.shape[2]):
        for v in range(w.shape[3]):
            dxp[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += \
                np.einsum("nfij,fc->ncij", dout, w[:, :, u, v], optimize=True)
    h, wd = x_shape[2:]
    return dxp[:, :, padding:padding + h, padding:padding + wd], dw, db


def conv2d_backward_loop(dout, x, w, stride: int = 1, padding: int = 0
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The convolution layer's backward pass as plain loops over every output value (slow,
    readable; :func:`conv2d_backward` is the vectorised twin).

    Output (n, f, i, j) was its window of the padded input times the kernel w[f], plus b[f];
    so its gradient g = dout[n, f, i, j] adds g * w[f] to that window of dx, g * window to
    dw[f] and g to db[f]. Windows that overlap add up; the padding's gradient is cut off.
    x: (N, C, H, W), w: (F, C, KH, KW), dout: (N, F, HO, WO)  ->  dx, dw, db like x, w, (F,).
    """
    w = as_float_array(w, "w", ndim=4)
    x, w, _, stride, padding = _check_conv_args(x, w, np.zeros(w.shape[0]), stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n_images, _, hp, wp = xp.shape
    n_filters, _, kh, kw = w.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    dout = _check_dout(dout, (n_images, n_filters, ho, wo))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(n_filters)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(ho):
                for j in range(wo):
                    g = dout[n, f, i, j]
                    rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
                    dxp[n, :, rows, cols] += g * w[f]
                    dw[f] += g * xp[n, :, rows, cols]
                    db[f] += g
    return dxp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]], dw, db


# ---- max pooling -------------------------------------------------------------------------
def _check_pool_args(x, size, stride):
    x = as_float_array(x, "x", ndim=4)
    size = check_int(size, "size", 1)
    stride = size if stride is None else check_int(stride, "stride", 1)
    if size > min(x.shape[2:]):
        raise ValueError(f"size {size} is larger than the input's height/width {x.shape[2:]}")
    return x, size, stride


def maxpool_loop(x, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max-pooling as plain loops, one output value at a time (slow, readable).

    x: (N, C, H, W)  ->  out: (N, C, HO, WO), out[n, c, i, j] = max of the size x size window
    at (i * stride, j * stride); HO = (H - size) // stride + 1; stride defaults to size.
    """
    x, size, stride = _check_pool_args(x, size, stride)
    n_images, channels, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n_images, channels, ho, wo))
    for n in range(n_images):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + size,
                                        j * stride:j * stride + size].max()
    return out


def maxpool_forward(x, size: int = 2, stride: int | None = None) -> tuple[np.ndarray, Cache]:
    """Max over each size x size window; stride defaults to size (no overlap).

    x: (N, C, H, W)  ->  out: (N, C, HO, WO), HO = (H - size) // stride + 1. Same result as
    :func:`maxpool_loop`, with every window at once as a strided view.
    """
    x, size, stride = _check_pool_args(x, size, stride)
    windows = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = windows.reshape(*windows.shape[:4], size * size)
    arg = flat.argmax(axis=-1)  # first maximum in row-major window order
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, arg, size, stride)


def maxpool_backward(dout, cache: Cache) -> np.ndarray:
    """dout: (N, C, HO, WO)  ->  dx: (N, C, H, W).

    Each output's gradient is routed to the one input that was the maximum of its window;
    every other input gets zero. Overlapping windows add up (``np.add.at``).
    """
    x_shape, arg, size, stride = cache
    dout = _check_dout(dout, arg.shape)
    n, c, ho, wo = arg.shape
    rows = np.arange(ho)[:, None] * stride + arg // size   # (N, C, HO, WO) input row
    cols = np.arange(wo)[None, :] * stride + arg % size    # (N, C, HO, WO) input column
    dx = np.zeros(x_shape)
    nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    np.add.at(dx, (nn_[:, :, None, None], cc[:, :, None, None], rows, cols), dout)
    return dx


def maxpool_backward_loop(dout, x, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max-pooling's backward pass as plain loops over every output value (slow, readable;
    :func:`maxpool_backward` is the vectorised twin): each output's gradient goes to the input
    that was the maximum of its window (the first one in reading order on a tie), every other
    input of the window gets nothing; overlapping windows add up.
    x: (N, C, H, W), dout: (N, C, HO, WO)  ->  dx: (N, C, H, W).
    """
    x, size, stride = _check_pool_args(x, size, stride)
    n_images, channels, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    dout = _check_dout(dout, (n_images, channels, ho, wo))
    dx = np.zeros_like(x)
    for n in range(n_images):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    u, v = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + u, j * stride + v] += dout[n, c, i, j]
    return dx


# ---- batch normalization -----------------------------------------------------------------
@dataclass
class RunningStats:
    """Running mean / variance of a batch-norm layer, updated in place in training mode:
    new = (1 - momentum) old + momentum batch (with the unbiased batch variance, as torch)."""
    mean: np.ndarray
    var: np.ndarray
    momentum: float = 0.1
    eps: float = 1e-5

    @classmethod
    def create(cls, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        num_features = check_int(num_features, "num_features", 1)
        momentum = check_positive(momentum, "momentum")
        if momentum > 1:
            raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
        return cls(np.zeros(num_features), np.ones(num_features), momentum,
                   check_positive(eps, "eps"))


def batchnorm_forward(x, gamma, beta, stats: RunningStats,
                      train: bool = True) -> tuple[np.ndarray, Cache]:
    """Normalize each feature (channel) over the batch, then scale by gamma and shift by beta.

    x: (N, D) or (N, C, H, W) (statistics per channel over N, H, W); gamma, beta: (D,) / (C,).
    Training uses the batch's mean and biased variance and updates ``stats``; evaluation uses
    ``stats`` and leaves them unchanged.
    """
    x = as_float_array(x, "x", ndim=(2, 4))
    if not isinstance(stats, RunningStats):
        raise TypeError(f"stats must be a RunningStats (e.g. RunningStats.create({x.shape[1]})), "
                        f"got {type(stats).__name__}")
    train = _check_bool(train, "train")
    gamma = as_float_array(gamma, "gamma", ndim=1)
    beta = as_float_array(beta, "beta", ndim=1)
    if not gamma.shape == beta.shape == stats.mean.shape == (x.shape[1],):
        raise ValueError(f"gamma, beta and stats must have shape ({x.shape[1]},) for x "
                         f"{x.shape}, got {gamma.shape}, {beta.shape}, {stats.mean.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    if train:
        count = x.size // x.shape[1]
        if count < 2:
            raise ValueError(f"x needs more than one value per channel in training mode, "
                             f"got shape {x.shape}")
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        stats.mean[:] = (1 - stats.momentum) * stats.mean + stats.momentum * mean
        stats.var[:] = (1 - stats.momentum) * stats.var + \
            stats.momentum * var * count / (count - 1)
    else:
        mean, var = stats.mean, stats.var
    inv_std = 1.0 / np.sqrt(var + stats.eps)
    x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    return out, (x_hat, gamma, inv_std, axes, shape, train)


def batchnorm_backward(dout, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout: like x  ->  dx: like x, dgamma: (D,), dbeta: (D,).

    In training mode the mean and variance depend on every sample, which gives
    dx = inv_std / m (m dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)), m = values per channel.
    """
    x_hat, gamma, inv_std, axes, shape, train = cache
    dout = _check_dout(dout, x_hat.shape)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.reshape(shape)
    if not train:
        return dx_hat * inv_std.reshape(shape), dgamma, dbeta
    m = x_hat.size // x_hat.shape[1]
    dx = inv_std.reshape(shape) / m * (
        m * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
        - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta


def _channels_as_rows(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N * H * W, C): every value of a channel in one column."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def batchnorm_backward_graph(dout, x, gamma, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch norm's training-mode backward pass through its computation graph, one node at a
    time (readable; :func:`batchnorm_backward` collapses these steps into one formula).

    Forward, per feature over the batch (x: (N, D); for (N, C, H, W) each channel's N * H * W
    values form the batch): mu = mean(x); xc = x - mu; var = mean(xc^2);
    s = sqrt(var + eps); x_hat = xc / s; out = gamma x_hat + beta. The backward pass visits the
    nodes in reverse, adding up every path a node's gradient arrives by.
    Returns dx (like x), dgamma, dbeta (D,) / (C,).
    """
    x = as_float_array(x, "x", ndim=(2, 4))
    gamma = as_float_array(gamma, "gamma", ndim=1)
    if gamma.shape != (x.shape[1],):
        raise ValueError(f"gamma must have shape ({x.shape[1]},) for x {x.shape}, got {gamma.shape}")
    eps = check_positive(eps, "eps")
    dout = _check_dout(dout, x.shape)
    if x.ndim == 4:                        # channels last, then one row per value: (N H W, C)
        dx, dgamma, dbeta = batchnorm_backward_graph(_channels_as_rows(dout), _channels_as_rows(x), gamma, eps)
        n, c, h, w = x.shape
        return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta
    m = x.shape[0]
    mu = x.mean(axis=0)                    # forward, node by node
    xc = x - mu
    var = (xc ** 2).mean(axis=0)
    s = np.sqrt(var + eps)
    x_hat = xc / s
    dbeta = dout.sum(axis=0)               # out = gamma x_hat + beta
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dxc = dx_hat / s                       # x_hat = xc / s: the path through xc ...
    ds = -(dx_hat * xc).sum(axis=0) / s ** 2   # ... and the path through s
    dvar = ds / (2 * s)                    # s = sqrt(var + eps)
    dxc += dvar * 2 * xc / m               # var = mean(xc^2): a second path into xc
    dx = dxc.copy()                        # xc = x - mu: the direct path into x ...
    dmu = -dxc.sum(axis=0)                 # ... and the path through mu
    dx += dmu / m                          # mu = mean(x)
    return dx, dgamma, dbeta


# ---- dropout -----------------------------------------------------------------------------
def dropout_mask(shape: tuple[int, ...], p: float, seed: int) -> np.ndarray:
    """Boolean keep-mask of the given shape: each entry is True (kept) with probability 1 - p."""
    _check_probability(p)
    seed = check_int(seed, "seed", 0)
    if (not isinstance(shape, (tuple, list))
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
                       for d in shape)):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return np.random.default_rng(seed).random(tuple(shape)) >= p


def _check_probability(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"p must be a drop probability in [0, 1), got {p!r}")
    return float(p)


def dropout_forward(x, p: float, train: bool = True,
                    mask: np.ndarray | None = None, seed: int | None = None
                    ) -> tuple[np.ndarray, Cache]:
    """Inverted dropout: zero each entry with probability p and scale survivors by 1/(1 - p),
    so the expected output equals x and evaluation mode is the identity.

    x: any shape. Give the boolean keep-``mask`` (same shape as x) or a ``seed`` to draw it
    with :func:`dropout_mask`, so the layer is reproducible and testable.
    """
    x = as_float_array(x, "x")
    p = _check_probability(p)
    train = _check_bool(train, "train")
    if not train:
        return x.copy(), (None, 1.0)
    if mask is None:
        if seed is None:
            raise ValueError("give mask or seed in training mode (dropout must be reproducible)")
        mask = dropout_mask(x.shape, p, seed)
    mask = np.asarray(mask)
    if mask.shape != x.shape or mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array of x's shape {x.shape}, "
                         f"got {mask.dtype} {mask.shape}")
    scale = 1.0 / (1.0 - p)
    return x * mask * scale, (mask, scale)


def dropout_backward(dout, cache: Cache) -> np.ndarray:
    """The gradient flows only through kept entries, scaled the same way as the forward."""
    mask, scale = cache
    dout = as_float_array(dout, "dout", allow_empty=True)
    if mask is None:
        return dout.copy()
    _check_dout(dout, mask.shape)
    return dout * mask * scale


# ---- losses ------------------------------------------------------------------------------
def softmax(scores) -> np.ndarray:
    """Row-wise softmax of scores: (N, K), shifted by the row maximum for stability."""
    scores = as_float_array(scores, "scores", ndim=2)
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def one_hot(y, num_classes: int) -> np.ndarray:
    """Integer labels y: (N,) in {0..K-1} -> (N, K) float array with a 1 at each label."""
    num_classes = check_int(num_classes, "num_classes", 1)
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape (N,), got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must lie in [0, {num_classes - 1}], got [{y.min()}, {y.max()}]")
    return np.eye(num_classes)[y]


def softmax_cross_entropy(scores, y) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(scores) against integer labels.

    scores: (N, K), y: (N,) in {0..K-1}  ->  loss, dscores: (N, K) = (softmax - onehot) / N.
    """
    scores = as_float_array(scores, "scores", ndim=2)
    y = np.asarray(y)
    if y.shape != scores.shape[:1] or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({scores.shape[0]},), "
                         f"got {y.dtype} {y.shape}")
    if y.min() < 0 or y.max() >= scores.shape[1]:
        raise ValueError(f"y must lie in [0, {scores.shape[1] - 1}], got [{y.min()}, {y.max()}]")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs) - one_hot(y, scores.shape[1])  # p - y, one row per sample
    return float(loss), dscores / n


def mse_loss(pred, target) -> tuple[float, np.ndarray]:
    """Regression loss mean((pred - target)^2); pred, target: same shape -> loss, dpred."""
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} "
                         f"and {target.shape}")
    diff = pred - target
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def binary_cross_entropy_with_logits(logits, target) -> tuple[float, np.ndarray]:
    """Classification loss for labels in {0, 1}: mean(-t log s(z) - (1 - t) log(1 - s(z))).

    logits, target: same shape -> loss, dlogits = (sigmoid(logits) - target) / size.
    """
    z = as_float_array(logits, "logits")
    t = as_float_array(target, "target")
    if z.shape != t.shape:
        raise ValueError(f"logits and target must have the same shape, got {z.shape} "
                         f"and {t.shape}")
    # -log s(z) = log(1 + e^-z), written stably as max(z, 0) - z + log(1 + e^-|z|)
    loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    s, _ = sigmoid_forward(z)
    return float(loss.mean()), (s - t) / z.size
