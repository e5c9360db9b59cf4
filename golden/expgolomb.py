"""Exp-Golomb symbols: mappings, order-k codewords, zero runs, adaptive order.

Codewords (ITU-T H.264 section 9.1, generalised to order k): a number
``u >= 0`` with order ``k`` is written as ``w = u + 2**k`` in binary, MSB
first, preceded by ``n - k`` zero bits, where ``n = bit_length(w) - 1``.
Its length is ``2 * n - k + 1``. Order 0 is H.264's ue(v).

Mappings from a value ``v`` to the number ``u`` that is coded:

* signed, value mode: H.264 se(v): ``u = 2v - 1`` for ``v > 0``, ``-2v``
  otherwise (0, 1, -1, 2, -2 -> 0, 1, 2, 3, 4).
* unsigned, value mode (uint8 with transform ``none``): ue(v), ``u = v``.
* levels in run mode are never zero, so they code ``se(v) - 1`` or
  ``v - 1``: (1, -1, 2, -2 -> 0, 1, 2, 3).
* run symbols: ``u = run + 1`` for a run of ``run`` zeros before a level,
  ``u = 0`` for end of block.

Adaptive order (``Config.adaptive``): each coefficient position ``p`` has a
state ``A[p]``, set at the start of every tile to ``0`` if ``ktable[p] == 0``
and ``3 << (ktable[p] + 1)`` otherwise. A value or level symbol at ``p`` is
coded with ``k = max{j in 0..7 : j == 0 or A[p] >= 3 << (j + 1)}``, and after
it ``A[p] = A[p] - (A[p] >> 2) + u``. Run symbols use ``krun`` and leave the
state alone. ``A <= 4 * max(u) + 3`` so 16 unsigned bits always hold it.
"""
import torch

MAX_K = 7
#: Thresholds of the adaptive rule: order j needs A >= THRESH[j].
THRESH = tuple(0 if j == 0 else 3 << (j + 1) for j in range(MAX_K + 1))


def bit_length(w):
    """Bit length of positive int64 values below 2**24 (exact, via frexp of
    float32; every valid codeword value is below 2**15)."""
    return torch.frexp(w.float())[1].to(torch.int64)


def map_signed(v):
    return (v.abs() << 1) - (v > 0).to(v.dtype)


def unmap_signed(u):
    return torch.where(u & 1 == 1, (u + 1) >> 1, -(u >> 1))


def codewords(u, k):
    """(code, length) of order-k Exp-Golomb codewords for numbers ``u``.

    The code is ``u + 2**k``; its ``length - bit_length(code)`` leading zeros
    are implied by the length.
    """
    k = k.to(u.dtype)
    w = u + (1 << k)
    n = bit_length(w).to(u.dtype) - 1
    return w, 2 * n - k + 1


def initial_state(ktable):
    return [THRESH[k] for k in ktable]


def order_from_state(a):
    """Adaptive order for state tensor ``a``."""
    k = torch.zeros_like(a)
    for j in range(1, MAX_K + 1):
        k += (a >= THRESH[j]).to(a.dtype)
    return k


def update_state(a, u):
    return a - (a >> 2) + u


def max_prefix(umax, k):
    """Largest count of leading zeros of a codeword for ``u <= umax``."""
    return (umax + (1 << k)).bit_length() - 1 - k


def symbols(levels, order_scan, ktable, adaptive, runs, krun, signed, tile_blocks, korder=None,
            present=None, n_images=1):
    """The symbol sequence of a stream.

    Parameters
    ----------
    levels : (B, 64) int32
        Quantized levels, each block in scan order.
    order_scan : tuple of 64 int
        Raster position of each scan index (to look up ``ktable``).
    ktable, adaptive, runs, krun : as in :class:`golden.config.Config`
    signed : bool
        se(v) mapping if True, ue(v) if False.
    tile_blocks : int
        Blocks per tile (the adaptive state restarts at each tile).
    korder : (B, 64) int tensor, optional
        Orders of the values given by another rule (transform ``pred``).
    present : (B, 64) bool tensor, optional
        In value mode, the positions (scan order) that are coded; the others
        (block padding) are skipped and leave the adaptive state alone.
    n_images : int
        The blocks are this many tensors one after another, each with its
        own tiles (for the adaptive state).

    Returns
    -------
    u, k : int32 tensors, one entry per symbol in stream order
        The coded number and its order.
    block : int64 tensor or None
        The block of each symbol; None in value mode without skipped
        positions, where symbol i belongs to block i // 64.
    """
    nb = levels.shape[0]
    lv = levels.to(torch.int32)
    m = map_signed(lv) if signed else lv
    kscan = torch.tensor([ktable[p] for p in order_scan], dtype=torch.int32)
    if runs:
        coded = lv != 0
    else:
        coded = present if present is not None else torch.ones_like(lv, dtype=torch.bool)
    u_val = m - 1 if runs else m
    if korder is not None:
        korder = korder.to(torch.int32)
    elif adaptive:
        korder = adaptive_orders(torch.where(coded, u_val, 0), coded, kscan, tile_blocks,
                                 n_images)
        korder = korder.to(torch.int32)
    else:
        korder = kscan.expand(nb, 64)
    if not runs:
        if present is None or bool(present.all()):
            return u_val.reshape(-1), korder.reshape(-1), None
        blk = torch.arange(nb).repeat_interleave(present.sum(1))
        return u_val[present], korder.expand(nb, 64)[present], blk
    flat = coded.reshape(-1).nonzero().squeeze(1)  # sorted by (block, position)
    b, i = flat >> 6, flat & 63
    prev = torch.empty_like(i)
    prev[0:1] = -1
    prev[1:] = torch.where(b[1:] == b[:-1], i[:-1], -1)
    # stream order: per block, (run, level) pairs by position, then an EOB
    # unless the last coded position is 63
    nnz = torch.bincount(b, minlength=nb)
    last = torch.full((nb,), -1, dtype=torch.int64)
    last.scatter_reduce_(0, b, i, reduce="amax")
    has_eob = last < 63
    eob_before = torch.cumsum(has_eob, 0) - has_eob.to(torch.int64)
    at = 2 * torch.arange(b.numel()) + eob_before[b]  # index of each run symbol
    eob_at = (2 * torch.cumsum(nnz, 0) + eob_before)[has_eob]
    total = 2 * b.numel() + int(has_eob.sum())
    u = torch.zeros(total, dtype=torch.int32)
    k = torch.full((total,), krun, dtype=torch.int32)
    blk = torch.empty(total, dtype=torch.int64)
    u[at] = (i - prev).to(torch.int32)  # run + 1
    u[at + 1] = u_val.reshape(-1)[flat]
    k[at + 1] = korder.reshape(-1)[flat] if adaptive else kscan[i]
    blk[at] = b
    blk[at + 1] = b
    blk[eob_at] = has_eob.nonzero().squeeze(1)
    return u, k, blk


def adaptive_orders(u, coded, kscan, tile_blocks, n_images=1):
    """Order of every (block, scan index) under the adaptive rule.

    The blocks are ``n_images`` tensors one after another, each with its own
    tiles (the state restarts at every tile of every tensor). Sequential over
    the blocks of a tile, vectorised over tiles and positions.
    """
    nb = u.shape[0]
    bpi = nb // n_images
    tpi = -(-bpi // tile_blocks)
    nt = n_images * tpi
    # lay each tensor out on whole tiles, padding with blocks that code nothing
    pu = u.new_zeros(n_images, tpi * tile_blocks, 64)
    pc = coded.new_zeros(n_images, tpi * tile_blocks, 64)
    pu[:, :bpi] = u.reshape(n_images, bpi, 64)
    pc[:, :bpi] = coded.reshape(n_images, bpi, 64)
    pu = pu.reshape(nt, tile_blocks, 64)
    pc = pc.reshape(nt, tile_blocks, 64)
    a = torch.tensor([THRESH[k] for k in kscan.tolist()], dtype=torch.int64).expand(nt, 64).clone()
    out = torch.empty(nt, tile_blocks, 64, dtype=torch.int64)
    for j in range(tile_blocks):
        out[:, j] = order_from_state(a)
        a = torch.where(pc[:, j], update_state(a, pu[:, j]), a)
    return out.reshape(n_images, tpi * tile_blocks, 64)[:, :bpi].reshape(-1, 64)
