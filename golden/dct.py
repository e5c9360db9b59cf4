"""Integer-to-integer 8-point DCT-II built from lifting steps (binDCT style).

The structure is Chen's factorisation of the 8-point DCT-II, as used by the
binDCT of Liang and Tran ("Fast multiplierless approximations of the DCT with
the lifting scheme", IEEE Trans. Signal Processing, 2001), with two choices
of ours:

* every butterfly is an S-transform (``d = a - b``, ``s = b + (d >> 1)``),
  so each stage is a bijection of integer vectors and the transform with
  step 1 is lossless without the parity redundancy of plain ``a +/- b``
  butterflies;
* every plane rotation is three lifting steps ``x += (P * y + 128) >> 8``
  with ``P`` the nearest integer to ``256 * tan`` or ``256 * sin`` of the
  angle, so the hardware needs only shifts and adds.

The result is a scaled DCT-II: output ``X[k]`` approximates ``GAINS[k]``
times the orthonormal DCT-II coefficient (largest basis error 0.0023).
The gains are folded into the quantizer step table.

All arithmetic is on Python ints or int32 tensors; ``>>`` is an arithmetic
(flooring) shift.
"""
import functools
import math

import torch

#: Lifting program on eight registers r0..r7, which start as x[0..7].
#: ("sb", i, j): d = r_i - r_j; r_i = r_j + (d >> 1); r_j = d
#: ("lift", i, j, P): r_i += (P * r_j + 128) >> 8
#: ("neg", i): r_i = -r_i
PROGRAM = (
    ("sb", 0, 7), ("sb", 1, 6), ("sb", 2, 5), ("sb", 3, 4),
    # even half: 4-point DCT of the means in r0..r3
    ("sb", 0, 3), ("sb", 1, 2),
    ("sb", 0, 1),
    ("neg", 2), ("lift", 3, 2, -51), ("lift", 2, 3, 98), ("lift", 3, 2, -51),
    # odd half: differences in r4..r7 (x3-x4, x2-x5, x1-x6, x0-x7)
    ("lift", 6, 5, -106), ("lift", 5, 6, 181), ("lift", 6, 5, -106),
    ("sb", 4, 6), ("sb", 7, 5),
    ("neg", 4), ("lift", 7, 4, -25), ("lift", 4, 7, 50), ("lift", 7, 4, -25),
    ("lift", 5, 6, -78), ("lift", 6, 5, 142), ("lift", 5, 6, -78),
)
#: Register holding coefficient X[k] at the end of PROGRAM.
OUTPUT_REG = (0, 7, 3, 5, 1, 6, 2, 4)
#: X[k] / orthonormal DCT-II coefficient k (their product is 1).
GAINS = (1 / (2 * math.sqrt(2)), 1.0, 1.0, 2.0, 1 / math.sqrt(2), 2.0, 1.0, 1.0)
LIFT_SHIFT = 8
LIFT_ROUND = 1 << (LIFT_SHIFT - 1)


def _lift(p, y):
    return (p * y + LIFT_ROUND) >> LIFT_SHIFT


def _run(regs, inverse):
    ops = reversed(PROGRAM) if inverse else PROGRAM
    for op in ops:
        if op[0] == "sb":
            _, i, j = op
            if not inverse:
                d = regs[i] - regs[j]
                regs[i] = regs[j] + (d >> 1)
                regs[j] = d
            else:
                s, d = regs[i], regs[j]
                b = s - (d >> 1)
                regs[i] = d + b
                regs[j] = b
        elif op[0] == "lift":
            _, i, j, p = op
            if inverse:
                regs[i] = regs[i] - _lift(p, regs[j])
            else:
                regs[i] = regs[i] + _lift(p, regs[j])
        else:
            regs[op[1]] = -regs[op[1]]
    return regs


def forward_1d(x):
    """Forward transform along the last dimension (size 8) of an int tensor."""
    regs = _run([x[..., n] for n in range(8)], inverse=False)
    return torch.stack([regs[r] for r in OUTPUT_REG], dim=-1)


def inverse_1d(X):
    """Exact inverse of :func:`forward_1d` (along the last dimension)."""
    regs = [None] * 8
    for k, r in enumerate(OUTPUT_REG):
        regs[r] = X[..., k]
    return torch.stack(_run(regs, inverse=True), dim=-1)


def forward(blocks, transform):
    """Transform int32 blocks of shape (..., 8, 8).

    ``dct1d`` transforms each row; ``dct2d`` each row, then each column.
    """
    if transform == "none":
        return blocks
    out = forward_1d(blocks)
    if transform == "dct2d":
        out = forward_1d(out.transpose(-1, -2)).transpose(-1, -2)
    return out.contiguous()


def inverse(coefs, transform):
    """Exact inverse of :func:`forward`: columns first, then rows."""
    if transform == "none":
        return coefs
    out = coefs
    if transform == "dct2d":
        out = inverse_1d(out.transpose(-1, -2)).transpose(-1, -2)
    return inverse_1d(out).contiguous()


# ---- bit widths -------------------------------------------------------------
# Every register is an affine function of the block's inputs plus a rounding
# term; we track the linear part exactly (floats of dyadic values) and a bound
# on the accumulated rounding, which gives tight ranges for the widths.

class _Affine:
    __slots__ = ("lin", "err")

    def __init__(self, lin, err):
        self.lin, self.err = lin, err

    def sub(self, o):
        return _Affine([a - b for a, b in zip(self.lin, o.lin)], self.err + o.err)

    def add(self, o, scale=1.0, extra=0.0):
        return _Affine([a + scale * b for a, b in zip(self.lin, o.lin)],
                       self.err + abs(scale) * o.err + extra)

    def neg(self):
        return _Affine([-a for a in self.lin], self.err)

    def range(self, lo, hi):
        top = sum(c * (hi[n] if c > 0 else lo[n]) for n, c in enumerate(self.lin))
        bot = sum(c * (lo[n] if c > 0 else hi[n]) for n, c in enumerate(self.lin))
        return math.floor(bot - self.err), math.ceil(top + self.err)


def _affine_run(regs, inverse, seen):
    ops = reversed(PROGRAM) if inverse else PROGRAM
    for op in ops:
        if op[0] == "sb":
            _, i, j = op
            if not inverse:
                d = regs[i].sub(regs[j])
                regs[i], regs[j] = regs[j].add(d, 0.5, 0.5), d
            else:
                b = regs[i].add(regs[j], -0.5, 0.5)
                regs[i], regs[j] = regs[j].add(b), b
        elif op[0] == "lift":
            _, i, j, p = op
            s = (-p if inverse else p) / (1 << LIFT_SHIFT)
            regs[i] = regs[i].add(regs[j], s, 0.5)
        else:
            regs[op[1]] = regs[op[1]].neg()
        seen.extend(regs)
    return regs


def _block_affine(transform, inverse, seen):
    """Registers of a whole 8x8 block as affine functions of its 64 inputs."""
    unit = [_Affine([1.0 if m == n else 0.0 for m in range(64)], 0.0) for n in range(64)]
    grid = [unit[8 * r:8 * r + 8] for r in range(8)]

    def rows(g):
        out = []
        for row in g:
            if inverse:
                regs = [None] * 8
                for k, r in enumerate(OUTPUT_REG):
                    regs[r] = row[k]
                out.append(_affine_run(regs, True, seen))
            else:
                regs = _affine_run(list(row), False, seen)
                out.append([regs[r] for r in OUTPUT_REG])
        return out

    def cols(g):
        t = [list(c) for c in zip(*g)]
        return [list(r) for r in zip(*rows(t))]

    if transform == "dct1d":
        return rows(grid)
    return rows(cols(grid)) if inverse else cols(rows(grid))


def input_range(dtype):
    return (0, 255) if dtype == "uint8" else (-128, 127)


def signed_width(lo, hi):
    """Smallest two's complement width holding every integer in [lo, hi]."""
    w = 1
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def coefficient_bounds(transform, dtype):
    """Per-position bounds of the forward transform of ``dtype`` blocks.

    Returns ``(lo, hi, peak)``: two 8x8 lists of the smallest and largest
    value each coefficient can take (rounding included), and the largest
    magnitude of any intermediate register.
    """
    xlo, xhi = input_range(dtype)
    if transform == "none":
        return [[xlo] * 8 for _ in range(8)], [[xhi] * 8 for _ in range(8)], max(-xlo, xhi)
    seen = []
    grid = _block_affine(transform, False, seen)
    ranges = [[grid[r][c].range([xlo] * 64, [xhi] * 64) for c in range(8)] for r in range(8)]
    peak = max(max(-a, b) for a, b in (s.range([xlo] * 64, [xhi] * 64) for s in seen))
    return ([[a for a, _ in row] for row in ranges], [[b for _, b in row] for row in ranges], peak)


@functools.lru_cache(maxsize=None)
def widths(transform, dtype):
    """Bit widths of the datapath for a transform and input type.

    Returns a dict of signed two's complement widths: ``coef`` (every
    coefficient: the quantizer input, and the dequantizer output after its
    saturation), ``forward_peak`` (any register of the forward transform)
    and ``inverse_peak`` (any register of the inverse, fed any saturated
    coefficients, before the output saturates to the input type).
    """
    blo, bhi, peak = coefficient_bounds(transform, dtype)
    lo = min(min(r) for r in blo)
    hi = max(max(r) for r in bhi)
    coef = signed_width(lo, hi)
    if transform == "none":
        return {"coef": coef, "forward_peak": coef, "inverse_peak": coef}
    c = 1 << (coef - 1)
    seen = []
    _block_affine(transform, True, seen)
    ipeak = max(max(-a, b) for a, b in (s.range([-c] * 64, [c - 1] * 64) for s in seen))
    return {"coef": coef, "forward_peak": signed_width(-peak, peak),
            "inverse_peak": signed_width(-ipeak, ipeak)}


widths.__doc__ = widths.__wrapped__.__doc__


def inverse_error_bound(transform, coef_err):
    """Bound on |x - x'| per raster position of an 8x8 block, when each
    coefficient at raster position p is off by at most ``coef_err[p]``.

    The inverse is ``L c + r(c)`` with ``|r| <= err``; the exact inverse of
    the true coefficients is the input, so the error is at most
    ``sum |L| e + 2 err``.
    """
    if transform == "none":
        return [float(e) for e in coef_err]
    seen = []
    grid = _block_affine(transform, True, seen)
    return [sum(abs(c) * e for c, e in zip(grid[r][c].lin, coef_err)) + 2 * grid[r][c].err
            for r in range(8) for c in range(8)]
