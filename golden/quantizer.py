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


def quantize(coefs, qtable, rounding):
    """Quantize (..., 8, 8) int32 coefficients with a raster-order table."""
    step = torch.tensor(qtable, dtype=torch.int32).reshape(8, 8)
    off = torch.tensor(offsets(qtable, rounding), dtype=torch.int32).reshape(8, 8)
    mag = torch.div(coefs.abs() + off, step, rounding_mode="floor")
    return torch.where(coefs < 0, -mag, mag)


def dequantize(q, qtable, coef_width):
    """Dequantize (..., 8, 8) levels and saturate to ``coef_width`` bits."""
    step = torch.tensor(qtable, dtype=torch.int32).reshape(8, 8)
    lim = 1 << (coef_width - 1)
    return (q * step).clamp(-lim, lim - 1)


def max_error(qtable, rounding):
    """Largest |c - c'| per raster position."""
    return [max(r, s - 1 - r) for s, r in zip(qtable, offsets(qtable, rounding))]
