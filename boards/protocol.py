"""The UART protocol between a host and the board demo (its contract, as
``golden/`` is the codec's), and the host's side of it.

Every frame, both ways::

    0xA5, kind (1 byte), length (u32 LE, payload bytes), payload,
    crc (u16 LE): CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF)
    over kind, length and payload

Requests (host to board) and the board's replies:

``I`` (empty)
    ``I``: :data:`INFO` (version, flags, word bytes, dtype, tile blocks,
    configuration id, memory sizes, clock, clocks per bit).
``T`` (64 bytes: the step table, raster order; lossy builds only)
    ``K`` (empty) once loaded: it applies from the next tensor.
``C`` (planes u32, height u16, width u16, then one byte per position of
every 8x8 block in the golden block order, the padding replicated as
:func:`golden.tiling.to_blocks` does)
    ``Z``: tiles u32, data bytes u32, each tile's length (u32, bytes
    without padding), then the stream's bytes (tiles back to back, each
    padded to a word, as ``python -m golden encode --raw``).
    ``R``: :data:`RESULT` (decode error flag, cause, failed tile,
    compressor and decompressor clocks), then the reconstruction's
    values inside the tensor (padding dropped) in block order.
Anything wrong: ``E`` with a code of :data:`ERRORS` and a detail word;
the board then waits for the next frame.
"""
import binascii
import struct
import time

from golden import Config, container

SYNC = 0xA5
VERSION = 1
HEAD = struct.Struct("<BcI")     # sync, kind, length
INFO = struct.Struct("<BBBBHHIIIII")
INFO_FIELDS = ("version", "flags", "word_bytes", "dtype", "tile_blocks", "config_id",
               "data_bytes", "value_bytes", "index_entries", "clock_hz", "divider")
SHAPE = struct.Struct("<IHH")
RESULT = struct.Struct("<BBHIII")
RESULT_FIELDS = ("error", "cause", "reserved", "error_tile", "compress_cycles",
                 "decompress_cycles")
ERRORS = {
    1: "bad CRC",
    2: "unknown frame kind",
    3: "the payload does not match the shape",
    4: "the tensor does not fit the board's value memory",
    5: "the compressed stream does not fit the board's memory",
    6: "bad shape (a dimension is 0 or too large)",
    7: "frame timed out (bytes stopped mid-frame)",
    8: "bad payload length for this kind",
    9: "no step table on a lossless-only build",
}
DTYPE_CODES = ("uint8", "int8")


def crc16(data):
    """CRC-16/CCITT-FALSE."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def frame(kind, payload=b""):
    """The bytes of one frame."""
    body = kind + struct.pack("<I", len(payload)) + bytes(payload)
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


def config_id(config, dtype):
    """16 bits that tell a board's build apart: the CRC of the container
    header fields of ``config`` (with the word as alignment)."""
    head = container.build(config, (1, 1, 8, 8), dtype, [0, 0], b"")
    return crc16(head[:container.FIXED])


class LinkError(RuntimeError):
    """The link failed: no reply, a bad CRC, an unexpected frame."""


class BoardError(RuntimeError):
    """The board answered with an ``E`` frame."""

    def __init__(self, code, detail):
        self.code, self.detail = code, detail
        super().__init__(f"board reports error {code}: {ERRORS.get(code, 'unknown')} "
                         f"(detail {detail})")


class Link:
    """Frames over a byte port (a ``serial.Serial`` or anything with
    ``read(n)`` honouring a timeout and ``write``).

    Parameters
    ----------
    port
    timeout : float
        Seconds to wait for the start of a reply and between its bytes.
    """

    def __init__(self, port, timeout=2.0):
        self.port, self.timeout = port, timeout

    def _read(self, n, what):
        out = b""
        deadline = time.monotonic() + self.timeout
        while len(out) < n:
            got = self.port.read(n - len(out))
            if got:
                out += got
                deadline = time.monotonic() + self.timeout
            elif time.monotonic() > deadline:
                if not out and what == "reply":
                    raise LinkError(f"the board is silent: no reply in {self.timeout:g} s "
                                    "(is it programmed, on this port, at this baud rate?)")
                raise LinkError(f"reply cut short: {len(out)} of {n} bytes of its {what} "
                                f"in {self.timeout:g} s")
        return out

    def receive(self):
        """One frame: (kind, payload)."""
        while True:
            b = self._read(1, "reply")
            if b[0] == SYNC:
                break
        head = self._read(5, "header")
        kind, length = head[:1], struct.unpack("<I", head[1:])[0]
        payload = self._read(length, f"{kind.decode(errors='replace')!r} payload")
        crc = struct.unpack("<H", self._read(2, "CRC"))[0]
        if crc != crc16(head + payload):
            raise LinkError(f"bad CRC on a {kind!r} frame of {length} bytes "
                            f"(got 0x{crc:04x}, computed 0x{crc16(head + payload):04x})")
        if kind == b"E":
            code, detail = struct.unpack("<B3xI", payload)
            raise BoardError(code, detail)
        return kind, payload

    def send(self, kind, payload=b""):
        self.port.write(frame(kind, payload))

    def expect(self, kind):
        got, payload = self.receive()
        if got != kind:
            raise LinkError(f"expected a {kind!r} frame, got {got!r}")
        return payload

    def info(self):
        self.send(b"I")
        payload = self.expect(b"I")
        if len(payload) != INFO.size:
            raise LinkError(f"info frame of {len(payload)} bytes, expected {INFO.size}")
        return dict(zip(INFO_FIELDS, INFO.unpack(payload)))

    def table(self, steps):
        self.send(b"T", bytes(steps))
        self.expect(b"K")

    def run(self, planes, height, width, positions):
        """Send a tensor's positions (block order); returns the ``Z`` and
        ``R`` replies parsed: (lengths, stream bytes, result dict, values)."""
        self.send(b"C", SHAPE.pack(planes, height, width) + bytes(positions))
        z = self.expect(b"Z")
        tiles, nbytes = struct.unpack_from("<II", z)
        if len(z) != 8 + 4 * tiles + nbytes:
            raise LinkError(f"Z frame of {len(z)} bytes for {tiles} tiles and {nbytes} bytes")
        lengths = list(struct.unpack_from(f"<{tiles}I", z, 8))
        stream = z[8 + 4 * tiles:]
        r = self.expect(b"R")
        result = dict(zip(RESULT_FIELDS, RESULT.unpack_from(r)))
        return lengths, stream, result, r[RESULT.size:]


def board_config(lossy):
    """The configuration a board is built with: the default one for a
    lossless-only build (``pred``'s run mode); for a lossy build, whose
    step table loads at run time, ``pred``'s value mode (the run mode is
    lossless only), lossless at reset."""
    return Config(runs=False) if lossy else Config()


def shape_of(x):
    """(planes, height, width) of a tensor of 2 to 4 dimensions."""
    from golden import tiling
    n, c, h, w = tiling.as_nchw(tuple(x.shape))
    return n * c, h, w


def positions(x):
    """The ``C`` request's values: every position of every block in block
    order, the padding replicated, one byte each (two's complement for
    int8)."""
    import torch

    from golden import tiling
    return bytes((tiling.to_blocks(x).reshape(-1) & 0xFF).to(torch.uint8).tolist())


def expected(x, config):
    """What a board built with ``config`` replies for tensor ``x``: (tile
    lengths, stream bytes, reconstruction bytes in block order without
    padding, each of those values' flat index in ``x``)."""
    import torch

    from golden import codec, tiling
    enc = codec.encode(x, config.replace(align=4))
    rec = codec.reconstruct(x, config)
    inside = tiling.present(tuple(x.shape)).reshape(-1)
    values = (tiling.to_blocks(rec).reshape(-1)[inside] & 0xFF).to(torch.uint8)
    where = tiling.to_blocks(torch.arange(x.numel()).reshape(x.shape)).reshape(-1)[inside]
    return list(enc.tile_lengths), bytes(enc.payload), bytes(values.tolist()), where.tolist()
