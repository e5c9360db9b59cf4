"""The .fmc container: a header with the configuration, shape and tile
offsets, then the payload (the raw stream). Byte layout in docs/format.md.
"""
import struct
import zlib

from .config import Config, TRANSFORMS, SCANS, DTYPES, ALIGNS
from .errors import FormatError

MAGIC = b"FMCD"
VERSION = 5
FIXED = 164  # bytes before the tile offsets
_FIELDS = struct.Struct("<4s8BH2B5I")  # up to and including n_tiles


def header_size(n_tiles):
    return FIXED + 4 * (n_tiles + 1) + 8


def build(config, shape, dtype, offsets, payload):
    """Header + payload bytes. ``offsets`` are the n_tiles + 1 region starts."""
    n_tiles = len(offsets) - 1
    nchw = (1,) * (4 - len(shape)) + tuple(shape)
    flags = (1 if config.runs else 0) | (2 if config.adaptive else 0)
    head = _FIELDS.pack(MAGIC, VERSION, DTYPES.index(dtype), TRANSFORMS.index(config.transform),
                        flags, SCANS.index(config.scan), config.rounding, config.krun,
                        config.align, config.tile_blocks, len(shape), 0, *nchw, n_tiles)
    head += bytes(config.qtable) + bytes(config.ktable)
    head += struct.pack(f"<{n_tiles + 1}I", *offsets)
    head += struct.pack("<I", zlib.crc32(payload))
    head += struct.pack("<I", zlib.crc32(head))
    return head + payload


def parse(data):
    """Split a container into (config, shape, dtype, offsets, payload, header
    length). Raises FormatError on anything malformed."""
    data = bytes(data)
    if len(data) < 4 or data[:4] != MAGIC:
        raise FormatError(0, "not an fmcodec stream (bad magic)")
    if len(data) < FIXED:
        raise FormatError(len(data), f"truncated header ({len(data)} of at least {FIXED} bytes)")
    (_, version, dt, tr, flags, scan, rounding, krun, align, tile_blocks, ndim, reserved,
     n, c, h, w, n_tiles) = _FIELDS.unpack_from(data)
    if version != VERSION:
        raise FormatError(4, f"unsupported version {version} (this decoder reads {VERSION})")

    def check(ok, offset, what):
        if not ok:
            raise FormatError(offset, what)

    check(dt < len(DTYPES), 5, f"bad dtype code {dt}")
    check(tr < len(TRANSFORMS), 6, f"bad transform code {tr}")
    check(flags < 4, 7, f"bad flags 0x{flags:02x}")
    check(scan < len(SCANS), 8, f"bad scan code {scan}")
    check(align in ALIGNS, 11, f"bad alignment {align}")
    check(ndim in (3, 4), 14, f"bad number of dimensions {ndim}")
    check(reserved == 0, 15, "reserved byte is not zero")
    check(min(n, c, h, w) >= 1, 16, f"bad shape {(n, c, h, w)}")
    check(ndim == 4 or n == 1, 16, "a 3-d shape must have N = 1")
    hsize = header_size(n_tiles)
    if len(data) < hsize:
        raise FormatError(len(data), f"truncated header ({len(data)} of {hsize} bytes)")
    qtable, ktable = data[36:100], data[100:164]
    try:
        config = Config(transform=TRANSFORMS[tr], qtable=tuple(qtable), rounding=rounding,
                        ktable=tuple(ktable), adaptive=bool(flags & 2), runs=bool(flags & 1),
                        krun=krun, scan=SCANS[scan], tile_blocks=tile_blocks, align=align)
    except ValueError as e:
        raise FormatError(9, f"bad configuration: {e}") from None
    crc_at = hsize - 4
    (head_crc,) = struct.unpack_from("<I", data, crc_at)
    check(zlib.crc32(data[:crc_at]) == head_crc, crc_at, "header checksum mismatch")
    shape = (n, c, h, w) if ndim == 4 else (c, h, w)
    nb = n * c * (-(-h // 8)) * (-(-w // 8))
    check(n_tiles == -(-nb // tile_blocks), 32,
          f"{n_tiles} tiles given, the shape needs {-(-nb // tile_blocks)}")
    offsets = list(struct.unpack_from(f"<{n_tiles + 1}I", data, FIXED))
    for t in range(n_tiles + 1):
        prev = offsets[t - 1] if t else 0
        check(offsets[t] % align == 0 and offsets[t] >= prev and (t or offsets[0] == 0),
              FIXED + 4 * t, f"bad tile offset {offsets[t]} for tile {t}")
    payload = data[hsize:]
    if len(payload) != offsets[-1]:
        where = len(data) if len(payload) < offsets[-1] else hsize + offsets[-1]
        raise FormatError(where, f"payload is {len(payload)} bytes, the header says {offsets[-1]}"
                          + (" (truncated)" if len(payload) < offsets[-1] else " (trailing bytes)"))
    (pay_crc,) = struct.unpack_from("<I", data, crc_at - 4)
    check(zlib.crc32(payload) == pay_crc, crc_at - 4, "payload checksum mismatch")
    return config, shape, DTYPES[dt], offsets, payload, hsize
