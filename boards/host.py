"""``python -m boards host``: send a tensor to a board over its UART, and
compare what comes back (the compressed stream and the reconstruction)
with the golden model."""
import json
import sys
import time

import numpy as np
import torch

from . import protocol


class HostError(RuntimeError):
    """A usage or link problem, with the message to print."""


def load(path):
    """The tensor in ``path`` (.npy, uint8 or int8, 2 to 4 dimensions)."""
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HostError(f"cannot read {path}: {e}") from None
    if a.dtype not in (np.uint8, np.int8):
        raise HostError(f"{path}: dtype {a.dtype}, expected uint8 or int8 activations")
    if not 2 <= a.ndim <= 4 or 0 in a.shape:
        raise HostError(f"{path}: shape {a.shape}, expected 2 to 4 non-empty dimensions")
    return torch.from_numpy(np.ascontiguousarray(a))


def open_port(port, baud):
    import serial
    try:
        return serial.Serial(port, baud, timeout=0.05)
    except (serial.SerialException, OSError) as e:
        raise HostError(f"cannot open {port}: {e}") from None


def first_difference(a, b):
    """Index of the first byte where ``a`` and ``b`` differ, or None."""
    for i, (u, v) in enumerate(zip(a, b)):
        if u != v:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def check(link, x, step=None):
    """Run tensor ``x`` through the board on ``link``; returns the summary
    dict (see :func:`main`)."""
    info = link.info()
    dtype = {torch.uint8: "uint8", torch.int8: "int8"}[x.dtype]
    if protocol.DTYPE_CODES[info["dtype"]] != dtype:
        raise HostError(f"the board codes {protocol.DTYPE_CODES[info['dtype']]}, "
                        f"the tensor is {dtype}")
    lossy = bool(info["flags"] & 1)
    config = protocol.board_config(lossy)
    if info["config_id"] != protocol.config_id(config, dtype):
        raise HostError(f"the board was built with another configuration (id "
                        f"0x{info['config_id']:04x}, this host expects "
                        f"0x{protocol.config_id(config, dtype):04x})")
    if step is not None:
        if not 1 <= step <= 255:
            raise HostError(f"--step must be 1..255, got {step}")
        if not lossy:
            raise HostError("--step needs a lossy build; this board is lossless only")
        link.table([step] * 64)
        config = config.replace(qtable=step)
    elif lossy:
        link.table(list(config.qtable))   # the reset table, whatever ran before
    planes, h, w = protocol.shape_of(x)
    pos = protocol.positions(x)
    if len(pos) > info["value_bytes"]:
        raise HostError(f"the tensor has {len(pos)} positions with block padding; the board "
                        f"holds {info['value_bytes']}")
    t0 = time.monotonic()
    lengths, stream, result, values = link.run(planes, h, w, pos)
    seconds = time.monotonic() - t0
    want_lengths, want_stream, want_values, where = protocol.expected(x, config)
    n = x.numel()
    stream_diff = first_difference(stream, want_stream)
    value_diff = first_difference(values, want_values)
    mismatch = None
    if lengths != want_lengths:
        t = next((i for i, (a, b) in enumerate(zip(lengths, want_lengths)) if a != b),
                 min(len(lengths), len(want_lengths)))
        mismatch = (f"tile {t}: board length {lengths[t] if t < len(lengths) else 'none'}, "
                    f"golden {want_lengths[t] if t < len(want_lengths) else 'none'}")
    elif stream_diff is not None:
        mismatch = f"stream byte {stream_diff}"
    elif value_diff is not None:
        flat = where[value_diff] if value_diff < len(where) else None
        at = tuple(int(i) for i in np.unravel_index(flat, tuple(x.shape))) if flat is not None \
            else "past the end"
        mismatch = (f"value {value_diff} in block order (element {at}): board "
                    f"{values[value_diff] if value_diff < len(values) else 'none'}, golden "
                    f"{want_values[value_diff] if value_diff < len(want_values) else 'none'}")
    clock = info["clock_hz"]
    return {
        "shape": list(x.shape), "dtype": dtype, "values": n, "positions": len(pos),
        "config": {"lossy_build": lossy, "step": step or 1},
        "tiles": len(lengths), "stream_bytes": len(stream),
        # what the board keeps in its memories: the stream and a u32 length per tile
        "bits_per_value": round(8 * (len(stream) + 4 * len(lengths)) / n, 4),
        "stream_match": lengths == want_lengths and stream_diff is None,
        "reconstruction_match": value_diff is None,
        "decode_error": result["error"], "error_cause": result["cause"],
        "first_mismatch": mismatch,
        "compress_cycles": result["compress_cycles"],
        "decompress_cycles": result["decompress_cycles"],
        "clock_hz": clock,
        "compress_mvalues_s": round(len(pos) / result["compress_cycles"] * clock / 1e6, 3),
        "decompress_mvalues_s": round(len(pos) / result["decompress_cycles"] * clock / 1e6, 3),
        "link_seconds": round(seconds, 3),
    }


def print_summary(s, out=sys.stdout):
    ok = s["stream_match"] and s["reconstruction_match"]
    print(f"tensor {tuple(s['shape'])} {s['dtype']}: {s['values']} values, {s['tiles']} tiles, "
          f"{s['stream_bytes']} stream bytes, {s['bits_per_value']:.3f} bits/value", file=out)
    print(f"stream vs golden: {'match' if s['stream_match'] else 'MISMATCH'}; reconstruction "
          f"vs golden: {'match' if s['reconstruction_match'] else 'MISMATCH'}"
          + (f"; decode error cause {s['error_cause']}" if s["decode_error"] else ""), file=out)
    if not ok:
        print(f"first mismatch: {s['first_mismatch']}", file=out)
    print(f"board: compressor {s['compress_cycles']} clocks ({s['compress_mvalues_s']:.2f} "
          f"Mvalues/s at {s['clock_hz'] / 1e6:g} MHz), decompressor "
          f"{s['decompress_cycles']} clocks ({s['decompress_mvalues_s']:.2f} Mvalues/s); "
          f"link {s['link_seconds']:.2f} s", file=out)


def main(a):
    try:
        x = load(a.act)
        port = open_port(a.port, a.baud)
        try:
            s = check(protocol.Link(port, a.timeout), x, a.step)
        finally:
            port.close()
    except (HostError, protocol.LinkError, protocol.BoardError) as e:
        print(f"python -m boards host: error: {e}", file=sys.stderr)
        return 2
    if a.board:
        s["board"] = a.board
    print_summary(s)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(s, f, indent=1)
    return 0 if s["stream_match"] and s["reconstruction_match"] else 1


def add_parser(sub):
    h = sub.add_parser("host", help="send a tensor to a board and check it against golden",
                       description="Send a uint8/int8 tensor (.npy) to a board running the "
                                   "demo, over its UART in the framed protocol of "
                                   "boards/protocol.py; receive the compressed stream and the "
                                   "reconstruction and compare both with the golden model. "
                                   "Exit 0 when both match, 1 on a mismatch, 2 on a link or "
                                   "usage error.")
    h.add_argument("act", metavar="ACT.npy")
    h.add_argument("--port", required=True, metavar="DEV", help="serial port, e.g. /dev/ttyUSB1")
    h.add_argument("--board", choices=("icebreaker", "orangecrab", "ulx3s"), default=None,
                   help="the board (for the record; the board reports its own build)")
    h.add_argument("--baud", type=int, default=500_000, help="default: %(default)s")
    h.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for a reply and between its bytes (default: "
                        "%(default)s)")
    h.add_argument("--step", type=int, default=None,
                   help="a flat quantizer step to load first (lossy builds)")
    h.add_argument("--json", metavar="SUMMARY.json", help="also write the summary as JSON")
    return h

