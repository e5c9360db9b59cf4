"""``python -m boards``: FPGA builds with the open toolchain (YoWASP from
PyPI by default; the usual YOSYS, NEXTPNR_ICE40, ... variables name other
tools)."""
import argparse
import json
import sys


def build_parser():
    p = argparse.ArgumentParser(prog="python -m boards", description=(
        "fmcodec on FPGA boards: place and route with Yosys and nextpnr (Fmax and "
        "area), the board demo's bitstreams, the host link that checks a board against "
        "the golden model, and the main job."))
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    ip = sub.add_parser("ip", help="the codec alone: Fmax and area on an FPGA family",
                        description="Place and route the compressor and decompressor (or one "
                                    "of them) in a minimal registered top (serial-in shift "
                                    "register to every input, parity of every output; "
                                    "boards/ip.py) on iCE40 UP5K (iCEBreaker) or ECP5-85F "
                                    "(ULX3S), and write nextpnr's post-route Fmax and "
                                    "utilization as JSON.")
    ip.add_argument("--family", choices=("ice40", "ecp5"), required=True)
    ip.add_argument("--lanes", type=int, choices=(1, 8), default=1)
    ip.add_argument("--top", choices=("both", "compressor", "decompressor", "interleaved"),
                    default="both",
                    help="interleaved: hw.interleaved.InterleavedDecoder alone (one lane, "
                         "the default configuration; its decoder's loop cut into stages, "
                         "one tile per stage)")
    ip.add_argument("--word-width", type=int, choices=(32, 64), default=None,
                    help="default: 32 with one lane, 64 with eight")
    ip.add_argument("--target-mhz", type=float, default=None,
                    help="clock constraint (default: 50 on ice40, 150 on ecp5)")
    ip.add_argument("--lossless-only", action="store_true",
                    help="the lossless-only build (no step table, no quantizer)")
    ip.add_argument("--interleaved", action="store_true",
                    help="the decompressor's lanes are hw.interleaved.InterleavedLane (eight "
                         "tiles in flight per lane; lossless, the default configuration)")
    ip.add_argument("--runs", action=argparse.BooleanOptionalAction, default=None,
                    help="pred's run mode (runs in flat contexts, docs/format.md 4.4; lossless, "
                         "so no step table either; the default) or, with --no-runs, its value "
                         "mode, which a lossy build needs")
    ip.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    ip.add_argument("--report", required=True, metavar="REPORT.json")
    ip.add_argument("--build-dir", default="build/ip")

    from .build import BAUD, BOARDS
    b = sub.add_parser("build", help="a board's bitstream: the codec behind a UART",
                       description="Build the board demo (UART bridge at %d baud, compressor "
                                   "and decompressor, on-chip memory standing in for DRAM, "
                                   "LEDs; boards/demo.py) for an open FPGA board with Yosys "
                                   "and nextpnr, and write Fmax and utilization as JSON." % BAUD)
    b.add_argument("board", choices=sorted(BOARDS))
    b.add_argument("--report", required=True, metavar="REPORT.json")
    b.add_argument("--program", action="store_true",
                   help="program the board afterwards (iceprog or openFPGALoader)")
    b.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    b.add_argument("--build-dir", default="build/boards")
    from . import host, job
    host.add_parser(sub)
    job.add_parser(sub)
    return p


def cmd_build(a):
    from .build import build
    from .ip import BuildFailed
    try:
        rep = build(a.board, build_dir=a.build_dir, program=a.program, seed=a.seed)
    except BuildFailed as e:
        print(f"python -m boards: error: {a.board}: {e}", file=sys.stderr)
        return 1
    with open(a.report, "w") as f:
        json.dump(rep, f, indent=1)
    fmax = ", ".join(f"{c} {v:.1f} MHz (target {rep['target_mhz'][c]:g})"
                     for c, v in rep["fmax_mhz"].items())
    used = ", ".join(f"{b} {u['used']}/{u['available']}" for b, u in rep["utilization"].items())
    print(f"{rep['board']} ({rep['device']}): {fmax}; {used}; {rep['seconds']:.0f} s; "
          f"bitstream {rep['bitstream']}; report {a.report}")
    return 0


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.cmd == "build":
        return cmd_build(a)
    if a.cmd == "job":
        from .job import main as job
        return job(a)
    if a.cmd == "host":
        from .host import main as host
        return host(a)
    from .ip import BuildFailed, build
    tops = ("compressor", "decompressor") if a.top == "both" else (a.top,)
    try:
        from golden import Config
        rep = build(a.family, a.lanes, tops, Config(runs=a.runs), word_width=a.word_width,
                    target_mhz=a.target_mhz, build_dir=a.build_dir, seed=a.seed,
                    lossy=not a.lossless_only, interleaved=a.interleaved)
    except BuildFailed as e:
        print(f"python -m boards: error: {a.family}, {'+'.join(tops)}, {a.lanes} lane(s): {e}",
              file=sys.stderr)
        return 1
    with open(a.report, "w") as f:
        json.dump(rep, f, indent=1)
    fmax = ", ".join(f"{c} {v:.1f} MHz" for c, v in rep["fmax_mhz"].items())
    used = ", ".join(f"{b} {u['used']}/{u['available']}" for b, u in rep["utilization"].items())
    print(f"{rep['device']} ({rep['board']}), {a.lanes} lane(s), {'+'.join(tops)}: {fmax} "
          f"(target {rep['target_mhz']:g}); {used}; {rep['seconds']:.0f} s; {a.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
