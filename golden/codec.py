"""The golden codec: tensor -> stream -> tensor, bit-exact.

Encode: tiling -> transform -> quantize -> scan -> symbols -> codewords ->
packing. Decode reverses each step; tiles are decoded side by side, one
symbol of every tile per step.
"""
from dataclasses import dataclass

import numpy as np
import torch

from . import bitpack, container, dct, expgolomb, predict, quantizer, scan, tiling
from .config import Config, DTYPES, signed_symbols
from .errors import FormatError

ERRORS = {
    1: "codeword longer than the maximum",
    2: "codeword runs past the end of the tile",
    3: "value out of range",
    4: "run past the end of the block",
    5: "tile length does not match its coded bits",
    6: "non-zero padding after the last codeword",
}


def as_tensor(x):
    """Accept a torch tensor or numpy array of dtype uint8/int8."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a tensor or numpy array, got {type(x).__name__}")
    if x.dtype not in (torch.uint8, torch.int8):
        raise ValueError(f"expected dtype uint8 or int8, got {x.dtype}")
    tiling.as_nchw(x.shape)
    return x


def dtype_name(x):
    return "uint8" if x.dtype == torch.uint8 else "int8"


@dataclass
class Encoded:
    """An encoded tensor: the raw payload and what the container adds."""

    config: Config
    shape: tuple
    dtype: str
    payload: bytes
    offsets: list       # n_tiles + 1 region starts in the payload
    tile_lengths: list  # bytes of each tile without alignment padding
    tile_bits: list     # coded bits of each tile

    @property
    def n_values(self):
        return int(np.prod(self.shape))

    def container(self):
        return container.build(self.config, self.shape, self.dtype, self.offsets, self.payload)

    @property
    def container_bytes(self):
        return container.header_size(len(self.offsets) - 1) + len(self.payload)

    @property
    def bits_per_value(self):
        """Every bit of the container (header, offsets, padding) per value."""
        return 8 * self.container_bytes / self.n_values


def coef_width(transform, dtype):
    """Signed width of the quantizer's input and the dequantizer's output."""
    if transform == "pred":
        return predict.RESIDUAL_WIDTH
    return dct.widths(transform, dtype)["coef"]


def analyse(x, config):
    """What the encoder computes once for ``x``: the levels (B, 64, scan
    order), the signed flag, the orders given by transform ``pred``'s
    context rule (None otherwise) and ``pred``'s in-loop reconstruction
    blocks (None otherwise)."""
    x = as_tensor(x)
    blocks = tiling.to_blocks(x)
    if config.transform == "pred":
        lo, hi = dct.input_range(dtype_name(x))
        lv, rec, act = predict.encode(blocks, config.qtable, config.rounding, lo, hi)
        korder = (predict.context_order(act, torch.tensor(config.qtable, dtype=torch.int64))
                  if config.adaptive else None)
        return lv, True, korder, rec
    q = quantizer.quantize(dct.forward(blocks, config.transform), config.qtable, config.rounding)
    return scan.scan(q, config.scan), signed_symbols(config.transform, dtype_name(x)), None, None


def levels(x, config):
    """Quantized levels (B, 64) in scan order, and the signed flag."""
    lv, signed, _, _ = analyse(x, config)
    return lv, signed


def present_mask(shape, config):
    """Coded positions (B, 64) in scan order, or None when every position
    is coded."""
    if not tiling.skips_padding(config):
        return None
    return tiling.present(shape)[:, list(scan.order(config.scan))]


def stream_symbols(lv, signed, config, korder=None, rec=None, present=None, n_images=1):
    """The coded numbers and orders in stream order, and the block of each
    (None where symbol i belongs to block i // 64), of levels from
    :func:`analyse` (``rec`` is needed by ``pred``'s run mode)."""
    if not config.flat_runs:
        return expgolomb.symbols(lv, scan.order(config.scan), config.ktable, config.adaptive,
                                 config.runs, config.krun, signed, config.tile_blocks, korder,
                                 present, n_images)
    u, k, coded, _ = flat_run_positions(lv, config, korder, rec, present)
    blk = torch.arange(lv.shape[0]).repeat_interleave(coded.sum(1))
    return u[coded].to(torch.int32), k[coded].to(torch.int32), blk


def flat_run_positions(lv, config, korder, rec, present):
    """:func:`golden.predict.run_symbols` of levels from :func:`analyse`
    (``korder`` None: the table's orders; ``present`` None: every
    position): per position the number, order, whether it is coded and
    whether it is a run stopped by the next symbol."""
    nb = lv.shape[0]
    if korder is None:
        korder = torch.tensor(config.ktable, dtype=torch.int64).expand(nb, 64)
    if present is None:
        present = torch.ones(nb, 64, dtype=torch.bool)
    return predict.run_symbols(rec, expgolomb.map_signed(lv.to(torch.int16)), korder, present)


def _symbols(x, config):
    lv, signed, korder, rec = analyse(x, config)
    u, k, blk = stream_symbols(lv, signed, config, korder, rec, present_mask(x.shape, config))
    return u, k, blk, lv.shape[0]


def encode(x, config=Config()):
    """Encode a (C, H, W) or (N, C, H, W) uint8/int8 tensor."""
    x = as_tensor(x)
    u, k, blk, nb = _symbols(x, config)
    code, length = expgolomb.codewords(u, k)
    n_tiles = -(-nb // config.tile_blocks)
    tile = (torch.arange(nb) // config.tile_blocks).repeat_interleave(64) if blk is None \
        else blk // config.tile_blocks
    payload, offsets, tlen, tbits = bitpack.pack(code.to(torch.int64), length.to(torch.int64), tile,
                                                 n_tiles, config.align)
    return Encoded(config, tuple(x.shape), dtype_name(x), payload.numpy().tobytes(),
                   offsets.tolist(), tlen.tolist(), tbits.tolist())


def stream_bits(x, config=Config()):
    """Container size in bits without packing (equals ``8 *
    len(encode(x, config).container())``)."""
    x = as_tensor(x)
    lv, signed, korder, rec = analyse(x, config)
    return measure_batch(lv, signed, config, 1, korder, tuple(x.shape), rec)[0][0]


def measure_batch(lv, signed, config, n_images, korder=None, shape=None, rec=None):
    """Container bits of ``n_images`` tensors, each as if encoded alone (its
    own tiles and header), without packing. ``lv`` holds their blocks one
    after another, each tensor of ``shape``; ``korder`` may give the orders
    of transform ``pred`` with the adaptive order and ``rec`` its
    reconstruction (both from :func:`analyse`; ``rec`` for the run mode).
    Returns the per-tensor bits (a list) and the summed histograms of the
    coded numbers of value/level symbols and of run symbols."""
    nb = lv.shape[0]
    bpi = nb // n_images
    tb = config.tile_blocks
    tpi = -(-bpi // tb)
    present = present_mask(shape, config)
    if present is not None:
        present = present.repeat(n_images, 1)
    if korder is None and config.transform == "pred" and config.adaptive:
        raise ValueError("transform pred with the adaptive order needs the orders of analyse()")
    if config.flat_runs and rec is None:
        raise ValueError("transform pred's run mode needs the reconstruction of analyse()")
    b = torch.arange(nb)
    tile_of_block = (b // bpi) * tpi + (b % bpi) // tb
    if config.flat_runs:
        # lengths in place, summed over the coded positions: no gather
        u, k, coded, _ = flat_run_positions(lv, config, korder, rec, present)
        _, length = expgolomb.codewords(u, k)
        per_block = (length * coded).sum(1, dtype=torch.int64)
        tbits = torch.zeros(n_images * tpi, dtype=torch.int64).index_add_(0, tile_of_block,
                                                                           per_block)
        return _container_bits(tbits, config, n_images, tpi), {"value": torch.bincount(u[coded])}
    u, k, blk = stream_symbols(lv, signed, config, korder, rec, present, n_images)
    _, length = expgolomb.codewords(u, k)
    tbits = _tile_bits(length, blk, nb, tile_of_block, n_images * tpi)
    bits = _container_bits(tbits, config, n_images, tpi)
    is_run = _run_mask(u, blk) if config.zero_runs else torch.zeros_like(u, dtype=torch.bool)
    return bits, {"value": torch.bincount(u[~is_run]), "run": torch.bincount(u[is_run])}


def _container_bits(tbits, config, n_images, tpi):
    """Container bits of each image from its tiles' coded bits: regions
    padded to bytes and the alignment, plus the header."""
    region = ((tbits + 7) >> 3).add(config.align - 1) // config.align * config.align
    return (8 * (container.header_size(tpi) + region.reshape(n_images, tpi).sum(1))).tolist()


def _tile_bits(length, blk, nb, tile_of_block, n_tiles):
    """Coded bits of every tile, summing per block first."""
    if blk is None:  # value mode: 64 symbols per block, in order
        per_block = length.reshape(nb, 64).sum(1, dtype=torch.int64)
    else:
        per_block = torch.zeros(nb, dtype=torch.int64).index_add_(0, blk, length.to(torch.int64))
    return torch.zeros(n_tiles, dtype=torch.int64).index_add_(0, tile_of_block, per_block)


def _run_mask(u, blk):
    """Which symbols of a run-mode stream are runs or EOBs: within a block
    they alternate run, level, run, level, ..., [EOB]."""
    first = torch.ones_like(blk, dtype=torch.bool)
    first[1:] = blk[1:] != blk[:-1]
    idx = torch.arange(u.numel())
    start = torch.cummax(torch.where(first, idx, 0), 0).values
    return (idx - start) % 2 == 0


def reconstruct(x, config=Config()):
    """What decode(encode(x)) returns, computed without the entropy code."""
    x = as_tensor(x)
    lv, _, _, rec = analyse(x, config)
    if rec is not None:  # pred reconstructs in the encoder's loop
        return _to_tensor(rec, tuple(x.shape), dtype_name(x))
    return _reconstruct(lv, config, tuple(x.shape), dtype_name(x))


def _to_tensor(blocks, shape, dtype):
    out = tiling.from_blocks(blocks, shape)
    return out.to(torch.uint8 if dtype == "uint8" else torch.int8)


def _reconstruct(lv, config, shape, dtype):
    lo, hi = dct.input_range(dtype)
    if config.transform == "pred":
        return _to_tensor(predict.decode(lv, config.qtable, lo, hi), shape, dtype)
    w = coef_width(config.transform, dtype)
    q = scan.unscan(lv, config.scan)
    blocks = dct.inverse(quantizer.dequantize(q, config.qtable, w), config.transform)
    return _to_tensor(blocks.clamp(lo, hi), shape, dtype)


def error_bound(config, dtype):
    """Largest |x - decode(encode(x))| per raster position of a block
    (a list of 64 floats), from the quantizer's error and the inverse
    transform; 0 everywhere when every step is 1."""
    err = quantizer.max_error(config.qtable, config.rounding)
    if config.transform == "pred":  # quantized in the loop: errors do not add up
        return [float(e) for e in err]
    return dct.inverse_error_bound(config.transform, err) if any(err) else [0.0] * 64


def value_limits(config, dtype):
    """Smallest and largest level a valid stream can carry."""
    if not signed_symbols(config.transform, dtype):
        return 0, 255
    w = coef_width(config.transform, dtype)
    return -(1 << (w - 1)), (1 << (w - 1)) - 1


def max_number(config, dtype):
    """Largest number a value or level symbol of a valid stream codes."""
    vlo, vhi = value_limits(config, dtype)
    umax = max(2 * vhi - 1, -2 * vlo) if signed_symbols(config.transform, dtype) else vhi
    return umax - 1 if config.zero_runs else umax


#: The largest offset of a value's number in a flat-context symbol of
#: ``pred``'s run mode (:func:`golden.predict.run_symbols`: ``R - 1``).
FLAT_OFFSET = 7


def max_flat_number(config, dtype):
    """Largest number of a flat-context symbol of ``pred``'s run mode."""
    return max_number(config, dtype) + FLAT_OFFSET


def level_orders(config):
    """The Exp-Golomb orders the level codewords of this configuration can
    have: the table's, or every order its adaptive rule reaches (``pred``'s
    context rule stops at :data:`golden.predict.MAX_ORDER`)."""
    if not config.adaptive:
        return sorted(set(config.ktable))
    return range((predict.MAX_ORDER if config.transform == "pred" else expgolomb.MAX_K) + 1)


def max_codeword_length(config, dtype):
    """Longest codeword a valid stream of this configuration can hold."""
    umax = max_number(config, dtype)
    longest = max(2 * ((umax + (1 << k)).bit_length() - 1) - k + 1 for k in level_orders(config))
    if config.flat_runs:   # order 0
        longest = max(longest, 2 * (max_flat_number(config, dtype) + 1).bit_length() - 1)
    if config.zero_runs:
        longest = max(longest, 2 * ((64 + (1 << config.krun)).bit_length() - 1) - config.krun + 1)
    return longest


def decode_payload(payload, config, shape, dtype, offsets, base=0):
    """Decode a raw payload (``encode --raw``) given what the container
    would say: configuration, shape, dtype and the n_tiles + 1 tile region
    offsets. ``base`` is added to byte offsets in errors."""
    shape = tiling.as_nchw(shape) if len(shape) == 4 else tuple(shape)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}")
    nb = tiling.n_blocks(shape)
    lv = decode_levels(torch.frombuffer(bytearray(payload), dtype=torch.uint8) if len(payload)
                       else torch.zeros(0, dtype=torch.uint8),
                       offsets, nb, config, dtype, base, present_mask(shape, config))
    return _reconstruct(lv, config, shape, dtype)


def decode(data):
    """Decode a container (bytes) to a tensor. Raises FormatError."""
    config, shape, dtype, offsets, payload, hsize = container.parse(data)
    return decode_payload(payload, config, shape, dtype, offsets, base=hsize)


def _codeword(reader, pos, k, zmax, end):
    """Read one order-k codeword at ``pos`` in every tile.

    Returns (u, next position, error code: 0, 1 too long, 2 past the end).
    """
    z = reader.leading_zeros(pos)
    too_long = z > zmax
    n = (z + k + 1).clamp(max=49)
    nxt = pos + z + n
    u = reader.read(pos + z, n) - (1 << k)
    code = torch.where(too_long, 1, torch.where(nxt > end, 2, 0))
    return u, nxt, code


def decode_levels(payload, offsets, n_blocks, config, dtype, base=0, present=None):
    """Entropy-decode every tile, side by side. Returns (B, 64) levels.

    Each step decodes one value (value mode), or one run and its level
    (run mode), in every unfinished tile. ``present`` (B, 64, scan order)
    marks the positions a value-mode stream codes (None: all).
    """
    tb = config.tile_blocks
    nt = -(-n_blocks // tb)
    if len(offsets) != nt + 1:
        raise FormatError(base, f"{len(offsets) - 1} tile offsets given, the shape needs {nt}")
    signed = signed_symbols(config.transform, dtype)
    vlo, vhi = value_limits(config, dtype)
    umax = max_number(config, dtype)
    reader = bitpack.BitReader(payload)
    off = torch.tensor(offsets, dtype=torch.int64)
    pos = off[:-1] * 8
    start = pos.clone()
    end = off[1:] * 8
    tiles = torch.arange(nt)
    nb_t = (n_blocks - tiles * tb).clamp(max=tb)
    row = tiles * tb                      # output row of each tile's block
    sidx = torch.zeros(nt, dtype=torch.int64)
    done = torch.zeros(nt, dtype=torch.bool)
    err = torch.zeros(nt, dtype=torch.int64)
    err_at = torch.zeros(nt, dtype=torch.int64)
    out = torch.zeros(nt * tb, 64, dtype=torch.int32)
    kscan = torch.tensor([config.ktable[p] for p in scan.order(config.scan)], dtype=torch.int64)
    zmax_val = torch.tensor([expgolomb.max_prefix(umax, k) for k in range(8)])
    zmax_run = expgolomb.max_prefix(64, config.krun)
    if present is not None:
        # next coded scan index at or after each index, 64 past the last
        idx = torch.where(present, torch.arange(64), 64)
        idx = torch.cat([idx, torch.full((n_blocks, 1), 64)], 1)
        following = torch.flip(torch.cummin(torch.flip(idx, (1,)), 1).values, (1,))
    pred_mode = config.transform == "pred"
    if pred_mode:  # reconstruct in the loop: predictions and orders need it
        lo, hi = dct.input_range(dtype)
        rec = torch.zeros(nt, 64, dtype=torch.int64)
        step = torch.tensor(config.qtable, dtype=torch.int64)
    if config.flat_runs:
        zmax_flat = expgolomb.max_prefix(max_flat_number(config, dtype), 0)
        run_left = torch.zeros(nt, dtype=torch.int64)   # values of the run still to come
        after = torch.zeros(nt, dtype=torch.bool)       # the next value ends a run
        coded_at = present if present is not None else torch.ones(n_blocks, 64, dtype=torch.bool)
        # real positions after each one in its block row (a run to the row's end covers them)
        per_row = coded_at.reshape(-1, 8, 8).to(torch.int64)
        row_rest = (per_row.flip(2).cumsum(2).flip(2) - per_row).reshape(-1, 64)
    elif config.adaptive:
        state = torch.tensor(expgolomb.initial_state(kscan.tolist()), dtype=torch.int64)
        state = state.expand(nt, 64).clone()

    def fail(mask, code, where):
        nonlocal err, err_at
        new = mask & (code != 0)
        err = torch.where(new, code, err)
        err_at = torch.where(new, where, err_at)
        return new

    while True:
        act = ~done
        if not bool(act.any()):
            break
        failed = torch.zeros(nt, dtype=torch.bool)
        is_level = act
        if config.zero_runs:
            u, nxt, code = _codeword(reader, pos, config.krun, zmax_run, end)
            eob = u == 0
            code = torch.where((code == 0) & ~eob & (sidx + u - 1 > 63), 4, code)
            failed = fail(act, code, pos)
            ok = act & ~failed
            pos = torch.where(ok, nxt, pos)
            sidx = torch.where(ok, torch.where(eob, 64, sidx + u - 1), sidx)
            is_level = ok & ~eob
        s = sidx.clamp(max=63)
        if pred_mode:
            r, c = s >> 3, s & 7
            a = torch.where(c > 0, rec[tiles, (s - 1).clamp(min=0)], 0)
            b = torch.where(r > 0, rec[tiles, (s - 8).clamp(min=0)], 0)
            d = torch.where((r > 0) & (c > 0), rec[tiles, (s - 9).clamp(min=0)], 0)
            guess = torch.where(r == 0, a, torch.where(c == 0, b, predict.med(a, b, d)))
            k = (predict.context_order(predict.activity(a, b, d), step[s]) if config.adaptive
                 else kscan[s])
        elif config.adaptive:
            k = expgolomb.order_from_state(state[tiles, s])
        else:
            k = kscan[s]
        zm = zmax_val[k]
        if config.flat_runs:
            inrun = run_left > 0
            fl = ~inrun & ~after & (predict.activity(a, b, d) == 0)
            k = torch.where(fl, 0, k)
            zm = torch.where(fl, zmax_flat, zm)
        u, nxt, code = _codeword(reader, pos, k, zm, end)
        if config.flat_runs:
            room = 7 - c                                  # R - 1
            held = fl & (u <= room)                       # a run symbol
            n = u
            u = torch.where(fl & ~held, u - room, u)
            # a run that stops before the row's end stops at a value inside the tensor
            blk_row = row.clamp(max=n_blocks - 1)
            # (a finished or past-the-end tile reads zeros: u = -2**k, so clamp below too)
            inside = coded_at[blk_row, (s + n).clamp(0, 63)]
            code = torch.where((code == 0) & held & (n > 0) & ~inside, 4, code)
            held = held | inrun
            code = torch.where(inrun, 0, code)            # no codeword read
            nxt = torch.where(inrun, pos, nxt)
        v = u + 1 if config.zero_runs else u
        if signed:
            v = expgolomb.unmap_signed(v)
        # pred: the residual level, checked instead of its coded form
        q = predict.residual(u, guess, lo, predict.remaps(lo, step[s])) if pred_mode else v
        if config.flat_runs:  # a run's values equal a
            q = torch.where(held, a - guess, q)
            v = torch.where(held, predict.fold(q, guess, lo, predict.remaps(lo, 1)), v)
        code = torch.where((code == 0) & ((q < vlo) | (q > vhi)), 3, code)
        bad = fail(is_level, code, pos)
        failed = failed | bad
        ok = is_level & ~bad
        pos = torch.where(ok, nxt, pos)
        wv = ok.nonzero(as_tuple=True)[0]
        if wv.numel():
            out[row[wv], sidx[wv]] = v[wv].to(torch.int32)
            if pred_mode:
                rec[wv, sidx[wv]] = (guess[wv] + q[wv] * step[sidx[wv]]).clamp(lo, hi)
            elif config.adaptive:
                state[wv, sidx[wv]] = expgolomb.update_state(state[wv, sidx[wv]], u[wv])
        if config.flat_runs:
            rest = row_rest[blk_row, s]
            started = ok & ~inrun & held
            run_left = torch.where(ok & inrun, run_left - 1,
                                   torch.where(started, torch.where(n == 0, rest, n - 1), run_left))
            after = torch.where(ok & ~inrun, started & (n > 0), after)
        if present is not None:
            step_to = following[row.clamp(max=n_blocks - 1), (sidx + 1).clamp(max=64)]
        else:
            step_to = sidx + 1
        sidx = torch.where(ok, step_to, sidx)
        block_end = act & ~failed & (sidx >= 64)
        row = row + block_end
        sidx = torch.where(block_end, 0, sidx)
        done = done | failed | (row == tiles * tb + nb_t)
    # a finished tile must fill exactly its region: no extra bytes, zero padding
    good = err == 0
    used = (pos - start + 7) >> 3
    aligned = (used + config.align - 1) // config.align * config.align
    bad_len = good & (aligned != (end - start) >> 3)
    rest = (end - pos).clamp(0, 64)
    nonzero_pad = (reader.read(pos, rest.clamp(max=32)) != 0) | \
        (reader.read(pos + 32, (rest - 32).clamp(min=0)) != 0)
    bad_pad = good & ~bad_len & nonzero_pad
    err = torch.where(bad_len, 5, torch.where(bad_pad, 6, err))
    err_at = torch.where(bad_len | bad_pad, pos, err_at)
    if bool((err != 0).any()):
        t = int((err != 0).nonzero()[0])
        raise FormatError(base + int(err_at[t]) // 8, f"tile {t}: {ERRORS[int(err[t])]}")
    return out[:n_blocks]
