"""Command line of the gateware: ``python -m hw verilog --out DIR``."""
import argparse
import json
import os
import sys

from golden.__main__ import UsageError, add_config_args, config_from_args


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m hw",
        description="fmcodec gateware (Amaranth 0.5): generate Verilog for the tops.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser(
        "verilog", help="write Verilog of the Compressor and Decompressor tops",
        description="Write DIR/compressor.v (module fmcodec_compressor), "
                    "DIR/decompressor.v (module fmcodec_decompressor) and a JSON file beside "
                    "each (its parameters, the golden configuration and the bit fields of "
                    "its stream payloads) for the cocotb benches and the board builds. The "
                    "codec configuration is fixed at elaboration except the step table (a "
                    "run-time port); --align is set by --word-width.")
    v.add_argument("--out", required=True, metavar="DIR", help="output directory")
    v.add_argument("--dtype", choices=("uint8", "int8"), default="uint8",
                   help="element type of the activations (default: %(default)s)")
    v.add_argument("--word-width", type=int, choices=(32, 64), default=32,
                   help="width of the stream words in bits (default: %(default)s)")
    v.add_argument("--top", choices=("both", "compressor", "decompressor", "compressor_dma",
                                     "decompressor_dma"), default="both",
                   help="which tops to write: both codec tops, one of them, or a DRAM engine "
                        "(AXI4 master and AXI4-Lite registers, one lane; docs/hardware.md) "
                        "(default: %(default)s)")
    v.add_argument("--lanes", type=int, choices=(1, 8), default=1,
                   help="values per beat: 8 codes whole tiles on 8 cores side by side, with "
                        "a port of words and lengths per lane (default: %(default)s)")
    v.add_argument("--lossless-only", action="store_true",
                   help="build without the run-time step table and quantizer (the table must "
                        "be all ones): smaller, and no prediction loop for pred")
    v.add_argument("--interleaved", action="store_true",
                   help="the decompressor's lanes are hw.interleaved.InterleavedLane (eight "
                        "tiles in flight per lane, a clock about 4.6 times higher on ECP5; "
                        "lossless-only, the default configuration only)")
    add_config_args(v)
    b = sub.add_parser(
        "bench", help="cycles per value and latency of both tops (simulation)",
        description="Simulate the Compressor and the Decompressor in every main mode on a "
                    "real activation of EfficientNet-Lite0 with no stalls; check their "
                    "outputs against the golden model and print cycles per value and "
                    "latencies as a markdown table.")
    b.add_argument("--layer", default="b1.expand", help="activation tap (default: %(default)s)")
    b.add_argument("--channels", type=int, default=2,
                   help="channels of the tensor to simulate (default: %(default)s)")
    b.add_argument("--size", type=int, default=40,
                   help="side of the top-left crop simulated (default: %(default)s; the "
                        "Python simulator runs a few thousand cycles per second)")
    b.add_argument("--word-width", type=int, choices=(32, 64), default=32)
    b.add_argument("--lanes", type=int, choices=(1, 8), default=1,
                   help="lanes of both tops (default: %(default)s; for 8, give at least 16 "
                        "channels so that every lane gets tiles)")
    k = sub.add_parser(
        "soak", help="a long randomized run of both tops against the golden model",
        description="Simulate the Compressor and the Decompressor on random configurations "
                    "(every transform, scan, run mode, order and step table), element types, "
                    "word widths, lane counts, shapes and data, with random gaps and "
                    "back-pressure, and check them against the golden model. Exits 1 on the "
                    "first failure (or after all with --keep-going), printing the case's "
                    "seed to reproduce it.")
    k.add_argument("--cases", type=int, default=200, help="cases to run (default: %(default)s)")
    k.add_argument("--minutes", type=float, default=0,
                   help="stop after this long (default: no limit)")
    k.add_argument("--seed", type=int, default=1, help="seed of the cases (default: %(default)s)")
    k.add_argument("--keep-going", action="store_true", help="run every case despite failures")
    k.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def cmd_soak(a):
    from . import soak
    return soak.main(a)


def cmd_verilog(a):
    from amaranth.back import verilog

    from .compressor import Compressor
    from .decompressor import Decompressor
    config = config_from_args(a).replace(align=a.word_width // 8)
    from .dma import CompressorDMA, DecompressorDMA
    tops = {"compressor": Compressor, "decompressor": Decompressor,
            "compressor_dma": CompressorDMA, "decompressor_dma": DecompressorDMA}
    names = ["compressor", "decompressor"] if a.top == "both" else [a.top]
    for name in names:
        try:
            if name.endswith("_dma"):
                if a.lanes != 1:
                    raise ValueError("the DMA engines have one lane")
                top = tops[name](config, a.dtype, a.word_width, lossy=not a.lossless_only)
            elif name == "decompressor" and a.interleaved:
                top = Decompressor(config, a.dtype, a.word_width, a.lanes, lossy=False,
                                   interleaved=True)
            else:
                top = tops[name](config, a.dtype, a.word_width, a.lanes,
                                 lossy=not a.lossless_only)
        except ValueError as e:
            raise UsageError(str(e)) from None
        module = f"fmcodec_{name}"
        text = verilog.convert(top, name=module, emit_src=False)
        try:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, f"{name}.v"), "w") as f:
                f.write(text)
            with open(os.path.join(a.out, f"{name}.json"), "w") as f:
                json.dump({"module": module, "dtype": a.dtype,
                           "word_width": a.word_width, "lanes": a.lanes,
                           "lossless_only": a.lossless_only or (
                               a.interleaved and name == "decompressor"),
                           "interleaved": a.interleaved and name == "decompressor",
                           "config": config_dict(config),
                           "ports": port_fields(top)}, f, indent=1)
        except OSError as e:
            raise UsageError(f"cannot write to {a.out}: {e.strerror}") from None
        print(f"wrote {a.out}/{name}.v ({len(text.splitlines())} lines)")
    return 0


def port_fields(top):
    """Bit fields of each stream payload of ``top``: name to [offset,
    width] (``[offset, width, count]`` for an array of ``count``
    elements), as Amaranth lays out a StructLayout (first member at bit
    0). Arrays of streams (8 lanes) list every element (``o__0__payload``)."""
    from amaranth import Shape
    from amaranth.lib import data
    out = {}
    for name, member in top.signature.members.items():
        if not member.is_signature or "payload" not in member.signature.members:
            continue
        shape = member.signature.members["payload"].shape
        if isinstance(shape, data.StructLayout):
            fields = {}
            for f, fld in shape:
                fields[f] = [fld.offset, fld.width]
                if isinstance(fld.shape, data.ArrayLayout):
                    fields[f].append(fld.shape.length)
        else:
            fields = {"data": [0, Shape.cast(shape).width]}
        names = [name] if not member.dimensions else \
            [f"{name}__{i}" for i in range(member.dimensions[0])]
        for n in names:
            out[f"{n}__payload"] = fields
    return out


def cmd_bench(a):
    from . import bench
    return bench.main(a)


def config_dict(config):
    from dataclasses import asdict
    d = asdict(config)
    d["qtable"], d["ktable"] = list(d["qtable"]), list(d["ktable"])
    return d


def main(argv=None):
    a = build_parser().parse_args(argv)
    try:
        return {"verilog": cmd_verilog, "bench": cmd_bench, "soak": cmd_soak}[a.cmd](a)
    except UsageError as e:
        print(f"python -m hw: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
