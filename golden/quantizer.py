"""Uniform scalar quantizer and dequantizer with a 64-entry step table.

For a coefficient ``c`` at raster position ``p`` with step ``s = qtable[p]``
and rounding offset ``r = (rounding * s) >> 4``::

    q  = sign(c) * ((|c| + r) // s)          # quantize
    c' = clamp(q * s, -2**(w-1), 2**(w-1)-1) # dequantize, w = coefficient width

``rounding = 8`` (r = s // 2) is round half away from zero; smaller values
widen the dead zone. Step 1 gives ``r = 0`` and ``q = c``: lossless.
Since ``s >= 1`` and ``r < s``, ``|q| <= |c|``: the quantizer never needs to
saturate. The dequantizer saturates to the coefficient width of the mode
(:func:`golden.dct.widths`), which can only move ``c'`` toward the true
coefficient. The reconstruction error of one coefficient is at most
``max(r, s - 1 - r)``.
"""
import torch


def offsets(qtable, rounding):
    return [(rounding * s) >> 4 for s in qtable]


def quantize_values(c, step, offset):
    """The rule itself: ``sign(c) * ((|c| + offset) // step)``, elementwise
    (step and offset may be tensors or ints)."""
    mag = torch.div(c.abs() + offset, step, rounding_mode="floor")
    return torch.where(c < 0, -mag, mag)


def quantize(coefs, qtable, rounding):
    """Quantize (..., 8, 8) int32 coefficients with a raster-order table."""
    step = torch.tensor(qtable, dtype=torch.int32).reshape(8, 8)
    off = torch.tensor(offsets(qtable, rounding), dtype=torch.int32).reshape(8, 8)
    return quantize_values(coefs, step, off)


def dequantize(q, qtable, coef_width):
    """Dequantize (..., 8, 8) levels and saturate to ``coef_width`` bits."""
    step = torch.tensor(qtable, dtype=torch.int32).reshape(8, 8)
    lim = 1 << (coef_width - 1)
    return (q * step).clamp(-lim, lim - 1)


def max_error(qtable, rounding):
    """Largest |c - c'| per raster position."""
    return [max(r, s - 1 - r) for s, r in zip(qtable, offsets(qtable, rounding))]


def table(transform, base, slope=0.0):
    """A step table that quantizes every coefficient about as finely as a
    step ``base`` on the orthonormal transform, coarser by ``1 + slope *
    (u + v)`` at frequency (u, v): ``max(1, round(base * g[u] * g[v] *
    (1 + slope * (u + v))))`` with the DCT gains ``g`` (all ones for
    ``none``; rows only for ``dct1d``)."""
    from .dct import GAINS
    out = []
    for u in range(8):
        for v in range(8):
            if transform == "none":
                g, f = 1.0, 0
            elif transform == "dct1d":
                g, f = GAINS[v], v
            else:
                g, f = GAINS[u] * GAINS[v], u + v
            out.append(max(1, min(255, round(base * g * (1 + slope * f)))))
    return tuple(out)
