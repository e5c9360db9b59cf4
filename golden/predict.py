"""Spatial prediction within a block (transform ``pred``).

Each 8x8 block is coded in raster order. The value at row r, column c is
predicted from already reconstructed values of the same block, with the
median edge detector of LOCO-I (Weinberger, Seroussi, Sapiro, "The LOCO-I
lossless image compression algorithm: principles and standardization into
JPEG-LS", IEEE Trans. Image Processing, 2000)::

    a = x'[r][c-1], b = x'[r-1][c], d = x'[r-1][c-1]
    pred = 0                    r = 0 and c = 0
         = a                    r = 0
         = b                    c = 0
         = min(a, b)            d >= max(a, b)
         = max(a, b)            d <= min(a, b)
         = a + b - d            otherwise

The residual ``e = x - pred`` is quantized in the loop (JPEG-LS's
near-lossless mode, generalised to the codec's quantizer), and
``x' = clamp(pred + q * s, lo, hi)``, so every value's error is that of one
quantizer step and does not accumulate.

A prediction at the low end of the range leaves the residual only one sign
(``x >= lo``): there the level is folded (:func:`fold`) so that its se(v)
number is ``q``, not ``2q - 1``; the code spends no number on residuals
that cannot occur. ReLU outputs are 0 much of the time, which makes this
worth 0.08 bits per value. (Folding at the high end too would save 0.004
more on the real network's tensors, not worth a negation in hardware.)

Those zeros are frequent elsewhere too: 38% of the real network's uint8
values are 0, and where the prediction is well above 0 a zero is a large
negative residual with a long codeword. So for uint8 data, at positions of
step 1, wherever ``pred >= 2`` the value ``x = 0`` is given the number
:data:`LOW_NUMBER` and the numbers from there up to that of ``x = 1`` move up
by one (:func:`fold`): 0.14 bits per uint8 value less on the real network.

With the adaptive order, the order of the symbol at (r, c) comes from the
activity of its neighbourhood, ``act = |a - d| + |b - d| + |a - b|`` (0 where
a neighbour is missing), against the step ``s`` of the position::

    k = #{ j in 1..4 : act >= s << (j + 1) }

a count of comparisons with shifted steps, stateless. The order stops at
:data:`MAX_ORDER` = 4: where the activity is higher, the residuals grow
more slowly than it does, and order 4 codes them in fewer bits than 5, 6 or
7 would (0.10 bits/value less on the real network's tensors than version
4's rule, which went on to 7).

Run mode (``runs``, lossless only; after JPEG-LS's run mode, in the same
paper). A third of the real network's values sit in flat contexts
(``act == 0``: ``a == b == d``, so the prediction is ``a``, 0 where ``a``
is missing), where the value equals the prediction 87% of the time and a
prefix code still spends a bit on each. There, instead of the value, one
order-0 number ``n`` covers a run of values equal to ``a`` within the
block row, of ``R = 8 - c`` positions from column ``c`` to the row's end::

    n = 0              every value from c to the row's end equals a
    n in 1 .. R - 1    the next n values equal a, the one after does not
    n >= R             the value at c is not a; its number is n - (R - 1)

The values of a run carry no codeword; the value that ends a run (the
interrupt) is coded with its own number and order and cannot start a run.
Positions outside the tensor count in ``R`` and hold replicated values, so
a run that reaches the last column inside the tensor goes to the row's end.
Each position carries at most one number (:func:`run_symbols`): a decoder
reads one codeword per value, and no codeword where a run covers the value.
On the real network's 8-bit tensors this codes 0.20 bits/value fewer than
the value mode.
"""
import torch

from . import expgolomb, quantizer

RESIDUAL_WIDTH = 9  # x - pred for 8-bit x and pred

#: The highest order of the context rule (:func:`context_order`).
MAX_ORDER = 4


def _neighbours(rec, p):
    """a, b, d and the prediction at raster position p for (B, 64) rec."""
    r, c = divmod(p, 8)
    zero = torch.zeros(rec.shape[0], dtype=rec.dtype)
    a = rec[:, p - 1] if c else zero
    b = rec[:, p - 8] if r else zero
    d = rec[:, p - 9] if r and c else zero
    if r == 0 and c == 0:
        pred = zero
    elif r == 0:
        pred = a
    elif c == 0:
        pred = b
    else:
        pred = med(a, b, d)
    return a, b, d, pred


def med(a, b, d):
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    return torch.where(d >= hi, lo, torch.where(d <= lo, hi, a + b - d))


def activity(a, b, d):
    return (a - d).abs() + (b - d).abs() + (a - b).abs()


def order_threshold(step, j):
    """The activity from which the context order is at least ``j`` (1..4)
    for step ``step`` (an int, a tensor or a hardware value)."""
    return step << (j + 1)


#: The se(v) number of ``x = lo`` where the low value is remapped
#: (:func:`remaps`, prediction ``lo + 2`` or more).
LOW_NUMBER = 3


def remaps(lo, step):
    """Whether ``x = lo`` is remapped for data whose range starts at ``lo``
    at a position of step ``step`` (an int or a tensor): uint8 data
    (``lo == 0``), lossless positions. (At a coarser step no level is
    exactly ``lo - pred``.)"""
    return (step == 1) & (lo == 0)


def _remap_region(pred, lo, remap):
    """``t``, the se(v) number of ``x = lo``, and where the remap applies."""
    return 2 * (pred - lo), torch.as_tensor(remap) & (pred >= lo + 2)


def fold(q, pred, lo, remap=False):
    """The coded level of residual level ``q`` at prediction ``pred``.

    ``q`` itself, except: at ``pred == lo`` (where ``q >= 0``) the level
    whose se(v) number is ``q``; and where ``remap`` (:func:`remaps`) and
    ``pred >= lo + 2``, the se(v) numbers are permuted so that ``x = lo``
    (``q = lo - pred``, number ``t = 2 (pred - lo)``) has number
    :data:`LOW_NUMBER` and the numbers ``LOW_NUMBER .. t - 1`` move up by
    one."""
    v = torch.where(pred == lo, expgolomb.unmap_signed(q), q)
    if remap is False:
        return v
    u = expgolomb.map_signed(v)
    t, on = _remap_region(pred, lo, remap)
    un = torch.where(u == t, LOW_NUMBER, torch.where((u >= LOW_NUMBER) & (u < t), u + 1, u))
    return torch.where(on, expgolomb.unmap_signed(un), v)


def residual(u, pred, lo, remap=False):
    """The residual level of the coded se(v) number ``u`` (what a decoder
    reads): the inverse of :func:`fold` on numbers, a permutation for any
    ``u``, so a decoder can apply it to whatever it reads."""
    if remap is not False:
        t, on = _remap_region(pred, lo, remap)
        u = torch.where(on, torch.where(u == LOW_NUMBER, t,
                                        torch.where((u > LOW_NUMBER) & (u <= t), u - 1, u)), u)
    return torch.where(pred == lo, u, expgolomb.unmap_signed(u))


def unfold(v, pred, lo, remap=False):
    """Inverse of :func:`fold`."""
    return residual(expgolomb.map_signed(v), pred, lo, remap)


def context_order(act, step):
    """Adaptive order from activity and step (tensors or ints)."""
    k = torch.zeros_like(act)
    if isinstance(step, torch.Tensor) and isinstance(act, torch.Tensor):
        step = step.to(act.dtype)  # compare in act's width, not a promoted one
    for j in range(1, MAX_ORDER + 1):
        k += (act >= order_threshold(step, j)).to(act.dtype)
    return k


_LEVEL_TABLES = {}


def _lossless_levels(x, pred, lo):
    """:func:`fold` of ``x - pred`` at step 1, by table: the level depends
    on the two 8-bit values only, and one gather costs less than the fold's
    dozen passes over the data."""
    table = _LEVEL_TABLES.get(lo)
    if table is None:
        p = torch.arange(lo, lo + 256, dtype=torch.int64)[:, None].expand(256, 256)
        v = torch.arange(lo, lo + 256, dtype=torch.int64)[None, :].expand(256, 256)
        table = _LEVEL_TABLES[lo] = fold(v - p, p, lo, remaps(lo, 1)).to(torch.int32).reshape(-1)
    return table[(pred.to(torch.int32) - lo) * 256 + (x.to(torch.int32) - lo)]


def encode(blocks, qtable, rounding, lo, hi):
    """Coded levels (B, 64, raster order; :func:`fold`), reconstruction
    (B, 8, 8) and activity (B, 64) of int32 blocks."""
    offs = quantizer.offsets(qtable, rounding)
    if all(s == 1 for s in qtable):
        # lossless: the reconstruction is the input, so every neighbour is
        # known at once (int16 holds every value, prediction and activity)
        g = blocks.reshape(-1, 8, 8).to(torch.int16)
        a, b, d = neighbour_planes(g)
        pred = med(a, b, d)
        pred[:, 0, :] = a[:, 0, :]
        pred[:, 1:, 0] = b[:, 1:, 0]
        levels = _lossless_levels(g, pred, lo).reshape(-1, 64)
        return levels, blocks.clone(), activity(a, b, d).reshape(-1, 64)
    x = blocks.reshape(-1, 64).to(torch.int64)
    rec = torch.empty_like(x)
    levels = torch.empty_like(x)
    act = torch.empty_like(x)
    for p in range(64):
        a, b, d, pred = _neighbours(rec, p)
        q = quantizer.quantize_values(x[:, p] - pred, qtable[p], offs[p])
        levels[:, p] = fold(q, pred, lo, remaps(lo, qtable[p]))
        rec[:, p] = (pred + q * qtable[p]).clamp(lo, hi)
        act[:, p] = activity(a, b, d)
    return levels.to(torch.int32), rec.reshape(-1, 8, 8).to(torch.int32), act


def neighbour_planes(g):
    """The left, above and above-left neighbours (a, b, d) of every value
    of (B, 8, 8) blocks, 0 where missing."""
    a = torch.zeros_like(g)
    b = torch.zeros_like(g)
    d = torch.zeros_like(g)
    a[:, :, 1:] = g[:, :, :-1]
    b[:, 1:, :] = g[:, :-1, :]
    d[:, 1:, 1:] = g[:, :-1, :-1]
    return a, b, d


def run_symbols(rec, u, k, present, act=None):
    """The numbers of the run mode, one or none per position.

    Parameters
    ----------
    rec : (B, 8, 8) int
        The values (lossless: the reconstruction), padding replicated.
    u, k : (B, 64) int
        The value mode's number and order of every position.
    present : (B, 64) bool
        The positions inside the tensor.
    act : (B, 64) int, optional
        The activity of every position (:func:`encode` gives it), computed
        from ``rec`` when None.

    Returns
    -------
    u, k : (B, 64) int16
        The number and order each position carries.
    coded : (B, 64) bool
        Which positions carry one (in raster order, the stream's symbols).
    stops : (B, 64) bool
        The numbers of runs that stop before the row's end (the next
        symbol is the interrupt's; an encoder emits the two together).
    """
    g = rec.to(torch.int16).reshape(-1, 8, 8)
    if act is None:
        act = activity(*neighbour_planes(g))
    g = g.reshape(-1, 8)
    fl = (act == 0).reshape(-1, 8)
    here = present.reshape(-1, 8)
    rows = g.shape[0]
    # same[:, c]: how many values from c on equal a, the left neighbour of c
    # (0 at column 0), up to the first that does not; value j equals a iff
    # every value from c to j equals its own left neighbour
    eq = torch.empty_like(here)
    eq[:, 0] = g[:, 0] == 0
    eq[:, 1:] = g[:, 1:] == g[:, :-1]
    same = torch.zeros(rows, 9, dtype=torch.int8)
    for c in range(7, -1, -1):
        same[:, c] = (same[:, c + 1] + 1) * eq[:, c]
    same = same[:, :8]
    # the one sequential part: which flat positions start a run (not inside
    # one, not the interrupt that ends one)
    start = torch.zeros_like(here)
    coded = torch.zeros_like(here)
    left = torch.zeros(rows, dtype=torch.int8)       # run values still to come
    after = torch.zeros(rows, dtype=torch.bool)      # the next value is an interrupt
    for c in range(8):
        inrun = left > 0
        st = here[:, c] & fl[:, c] & ~(inrun | after)
        start[:, c] = st
        coded[:, c] = here[:, c] & ~inrun
        sc = same[:, c]
        left = torch.where(inrun, left - 1, sc * st - st.to(torch.int8)).clamp(min=0)
        after = torch.where(inrun, after, st & (sc > 0) & (sc < 8 - c))
    # int16 holds every number (at most 2 * 255 + 7) and order
    col = torch.arange(8, dtype=torch.int16)
    u = u.to(torch.int16).reshape(-1, 8)
    to_end = same == 8 - col
    n = torch.where(to_end, 0, torch.where(same > 0, same.to(torch.int16), u + (7 - col)))
    us = torch.where(start, n, u)
    ks = torch.where(start, 0, k.to(torch.int16).reshape(-1, 8))
    stops = start & (same > 0) & ~to_end
    return us.reshape(-1, 64), ks.reshape(-1, 64), coded.reshape(-1, 64), stops.reshape(-1, 64)


def decode(levels, qtable, lo, hi):
    """Reconstruction (B, 8, 8) from coded levels (B, 64)."""
    v = levels.to(torch.int64)
    rec = torch.empty_like(v)
    for p in range(64):
        _, _, _, pred = _neighbours(rec, p)
        q = unfold(v[:, p], pred, lo, remaps(lo, qtable[p]))
        rec[:, p] = (pred + q * qtable[p]).clamp(lo, hi)
    return rec.reshape(-1, 8, 8).to(torch.int32)

