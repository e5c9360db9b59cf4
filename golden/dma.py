"""What the DMA engines (:mod:`hw.dma`) put in DRAM and how they get it
there: the contract for ``CompressorDMA`` and ``DecompressorDMA``.

DRAM layout of one compressed tensor, for a data region at ``data_base``
and an index region at ``index_base`` (both word aligned):

- Data: the tiles' stream regions back to back in tile order, each
  padded to whole words (the container payload with ``align = word
  bytes``). Tile ``t`` starts at ``data_base + offsets[t]``. Only the
  bytes of the tile itself are written: the last word of a tile goes out
  with byte strobes for its ``tile_length mod word bytes`` bytes (all when
  0), so the padding bytes of DRAM keep what they held; a reader zeroes
  them again (the stream's padding is zero) before decoding.
- Index: 8 bytes per tile at ``index_base + 8 t``: the tile's byte offset
  from ``data_base`` (u32, little-endian), then its length in bytes
  without the padding (u32). With it any tile can be read back alone.

Bursts are AXI4 INCR of at most 16 beats that never cross a 4 KiB
boundary. Data bursts never span two tiles (a tile is split at 16 beats
and at 4 KiB boundaries); index bursts are filled to 16 beats (or to the
boundary) and the remainder goes when the tensor ends.
"""
import struct

BURST_BEATS = 16
PAGE = 4096
INDEX_ENTRY = 8


def bursts(addr, nbytes, word_bytes):
    """``(address, beats)`` of the INCR bursts that move ``nbytes`` (whole
    words) from ``addr``: at most 16 beats, never across 4 KiB."""
    if addr % word_bytes or nbytes % word_bytes:
        raise ValueError(f"address {addr:#x} and size {nbytes} must be whole "
                         f"{word_bytes}-byte words")
    out = []
    while nbytes:
        beats = min(BURST_BEATS, nbytes // word_bytes, (PAGE - addr % PAGE) // word_bytes)
        out.append((addr, beats))
        addr += beats * word_bytes
        nbytes -= beats * word_bytes
    return out


def index_bytes(enc):
    """The index region of encoded tensor ``enc`` (:class:`golden.codec.Encoded`)."""
    return b"".join(struct.pack("<II", enc.offsets[t], n) for t, n in enumerate(enc.tile_lengths))


def parse_index(raw, tiles):
    """``(offset, length)`` of each of ``tiles`` entries in index bytes ``raw``."""
    if len(raw) < INDEX_ENTRY * tiles:
        raise ValueError(f"an index of {tiles} tiles needs {INDEX_ENTRY * tiles} bytes, "
                         f"got {len(raw)}")
    return [struct.unpack_from("<II", raw, INDEX_ENTRY * t) for t in range(tiles)]


def data_writes(enc, data_base):
    """``(address, bytes)`` of every tile as written (without its padding)."""
    return [(data_base + enc.offsets[t], enc.payload[enc.offsets[t]:enc.offsets[t] + n])
            for t, n in enumerate(enc.tile_lengths)]


def write_bursts(enc, data_base, index_base, word_bytes):
    """The data bursts (per tile, in tile order) and the index bursts a
    ``CompressorDMA`` issues for ``enc``: ``(data, index)`` lists of
    ``(address, beats)``."""
    if enc.config.align != word_bytes:
        raise ValueError(f"the stream must be encoded with align = {word_bytes}")
    data = []
    for t in range(len(enc.tile_lengths)):
        data += bursts(data_base + enc.offsets[t], enc.offsets[t + 1] - enc.offsets[t],
                       word_bytes)
    size = INDEX_ENTRY * len(enc.tile_lengths)
    return data, bursts(index_base, -(-size // word_bytes) * word_bytes, word_bytes)


def traffic(enc, word_bytes):
    """DRAM traffic of writing ``enc`` (data and index) against writing
    the uncompressed 8-bit tensor with the same bursts: a dict of bytes and
    burst counts."""
    data, index = write_bursts(enc, 0, 0, word_bytes)
    values = 1
    for s in enc.shape:
        values *= s
    raw = bursts(0, -(-values // word_bytes) * word_bytes, word_bytes)
    moved = word_bytes * sum(b for _, b in data + index)
    raw_bytes = word_bytes * sum(b for _, b in raw)
    return {"values": values, "data_bytes": word_bytes * sum(b for _, b in data),
            "index_bytes": word_bytes * sum(b for _, b in index), "bytes": moved,
            "bursts": len(data) + len(index), "raw_bytes": raw_bytes, "raw_bursts": len(raw),
            "reduction": raw_bytes / moved}


def layer_traffic(config, word_bytes=8, photo="astronaut", model=None):
    """:func:`traffic` for every DRAM activation of the evaluation network
    on one photo (each tensor as the network writes it, see
    :func:`golden.network.run`): a list of ``(tap name, shape, traffic)``."""
    import torch

    from . import network
    from .codec import encode
    model = model or network.load_model()
    taps = []

    def tap(name, kind, v):
        v = v[0]
        if kind == "relu6":
            q = network.relu6_to_uint8(v)
        else:
            scale = v.abs().max().item() / 127 or 1.0
            q = (v / scale).round().clamp(-128, 127).to(torch.int8)   # as network.activation
        taps.append((name, tuple(q.shape), traffic(encode(q, config.replace(align=word_bytes)),
                                                   word_bytes)))
        return None

    network.run(model, network.make_input(photo, 0, False)[None], tap)
    return taps


def traffic_table(rows, word_bytes):
    """Markdown table of :func:`layer_traffic` rows with a total line."""
    out = ["| tensor | shape | values | bytes written (data + index) | bursts | "
           f"uncompressed bytes / bursts ({8 * word_bytes}-bit) | reduction |",
           "|---|---|---|---|---|---|---|"]
    tot = {"values": 0, "data_bytes": 0, "index_bytes": 0, "bytes": 0, "bursts": 0,
           "raw_bytes": 0, "raw_bursts": 0}
    for name, shape, t in rows:
        for k in tot:
            tot[k] += t[k]
        out.append(f"| {name} | {'x'.join(map(str, shape))} | {t['values']:,} | "
                   f"{t['bytes']:,} ({t['data_bytes']:,} + {t['index_bytes']:,}) | "
                   f"{t['bursts']:,} | {t['raw_bytes']:,} / {t['raw_bursts']:,} | "
                   f"{t['reduction']:.2f}x |")
    out.append(f"| **all** | | {tot['values']:,} | {tot['bytes']:,} ({tot['data_bytes']:,} + "
               f"{tot['index_bytes']:,}) | {tot['bursts']:,} | {tot['raw_bytes']:,} / "
               f"{tot['raw_bursts']:,} | {tot['raw_bytes'] / tot['bytes']:.2f}x |")
    return out


def read_plan(enc, data_base, index_base, first, count, word_bytes):
    """The bursts a ``DecompressorDMA`` issues to read ``count`` tiles
    from ``first``, in order: ``("index" | "data", address, beats)``.
    Index entries come in chunks of 16 beats (each split at 4 KiB), and a
    chunk's tiles are read (each split at 16 beats and 4 KiB) before the
    next chunk; an empty tile reads nothing."""
    if count < 1 or first + count > len(enc.tile_lengths):
        raise ValueError(f"tiles {first}..{first + count - 1} are not all in the tensor's "
                         f"{len(enc.tile_lengths)}")
    beats_per_entry = INDEX_ENTRY // word_bytes      # 1 with 64-bit words, 2 with 32
    total = count * beats_per_entry
    plan, done, tile = [], 0, first
    while done < total:
        chunk = min(BURST_BEATS, total - done)
        plan += [("index", a, b) for a, b in bursts(index_base + INDEX_ENTRY * first +
                                                   done * word_bytes, chunk * word_bytes,
                                                   word_bytes)]
        done += chunk
        entries = chunk // beats_per_entry
        for t in range(tile, tile + entries):
            words = -(-enc.tile_lengths[t] // word_bytes)
            plan += [("data", a, b) for a, b in bursts(data_base + enc.offsets[t],
                                                      words * word_bytes, word_bytes)]
        tile += entries
    return plan
