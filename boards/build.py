"""Board bitstreams (``python -m boards build BOARD``): the demo of
:mod:`boards.demo` on an open FPGA board, its clock, pins and report."""
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, ResetSignal, Signal
from amaranth.lib import io

from . import protocol
from .demo import Demo
from .ip import BuildFailed, place_and_route, use_tools

BAUD = 500_000   # 3 MHz / 6: exact on FTDI bridges


@dataclass(frozen=True)
class Board:
    """How the demo is built for a board.

    ``clock``: how the codec's clock comes from the board's (``"div2"``,
    a fabric divider on a global buffer: the iCE40 PLL cannot go below
    16 MHz; ``"pll"``, an ECP5 EHXPLLL with ``pll`` = (CLKI_DIV,
    CLKFB_DIV, CLKOP_DIV)); ``mhz`` the codec's clock. ``uart``: feather
    header pins (RX, TX) where the platform names no UART; ``leds``: the
    LED resources.
    """
    name: str
    family: str
    platform: str
    clock: str
    mhz: float
    lossy: bool
    spram: bool
    programmer: str
    pll: tuple = None
    uart: tuple = None
    leds: str = "led"

    def make_platform(self):
        module, cls = self.platform.rsplit(".", 1)
        return getattr(__import__(module, fromlist=[cls]), cls)()


BOARDS = {
    "icebreaker": Board("icebreaker", "ice40", "amaranth_boards.icebreaker.ICEBreakerPlatform",
                        "div2", 6.0, lossy=False, spram=True, programmer="iceprog"),
    # EHXPLLL: VCO 400-800 MHz, phase detector at least 3.125 MHz
    "ulx3s": Board("ulx3s", "ecp5", "amaranth_boards.ulx3s.ULX3S_85F_Platform",
                   "pll", 15.0, lossy=True, spram=False, programmer="openFPGALoader",
                   pll=(5, 3, 40)),                    # 25 MHz * 3 / 5, VCO 600 MHz
    "orangecrab": Board("orangecrab", "ecp5",
                        "amaranth_boards.orangecrab_r0_2.OrangeCrabR0_2_85FPlatform",
                        "pll", 12.0, lossy=True, spram=False, programmer="dfu-util",
                        pll=(4, 1, 50), uart=("0", "1"), leds="rgb_led"),   # 48 / 4, VCO 600
}


def demo_for(board):
    """The demo as built for ``board`` (a :class:`Board`)."""
    hz = int(board.mhz * 1e6)
    if hz % BAUD:
        raise ValueError(f"{board.mhz} MHz is not a multiple of {BAUD} baud")
    cfg = protocol.board_config(board.lossy)
    words = 16384   # 64 KiB each: two SPRAMs, or 32 block RAMs of ECP5
    return Demo(cfg, lossy=board.lossy, divider=hz // BAUD, clock_hz=hz,
                value_words=words, data_words=words, index_entries=1024, spram=board.spram)


def pin(m, platform, direction, name, number=0):
    """The signal of a one-bit resource through its I/O buffer."""
    buf = io.Buffer(direction, platform.request(name, number, dir="-"))
    m.submodules[f"{name}_{number}"] = buf
    return buf.i if direction == "i" else buf.o


class BoardTop(Elaboratable):
    """The demo with the board's clock, reset, UART and LEDs."""

    def __init__(self, board):
        self.board = board
        self.demo = demo_for(board)

    def elaborate(self, platform):
        m = Module()
        b = self.board
        clk_in = pin(m, platform, "i", platform.default_clk)   # constrained by its resource
        m.domains.sync = ClockDomain()
        m.domains.por = ClockDomain(reset_less=True)   # the power-on reset's counter
        m.d.comb += ClockSignal("por").eq(ClockSignal("sync"))
        locked = 1
        if b.clock == "div2":
            m.domains.board = ClockDomain(reset_less=True)
            m.d.comb += ClockSignal("board").eq(clk_in)
            half = Signal()
            m.d.board += half.eq(~half)
            glb = Signal(attrs={"keep": 1})   # the net keeps its name for the constraint
            m.submodules.clk_gb = Instance("SB_GB", i_USER_SIGNAL_TO_GLOBAL_BUFFER=half,
                                           o_GLOBAL_BUFFER_OUTPUT=glb)
            m.d.comb += ClockSignal("sync").eq(glb)
            platform.add_clock_constraint(glb, b.mhz * 1e6)
        else:
            ckdiv, fbdiv, opdiv = b.pll
            # named: the net keeps its name for the constraint ("$signal" would not)
            pll_out = Signal(name="pll_clk", attrs={"keep": 1})
            locked = Signal()
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=str(platform.default_clk_frequency / 1e6),
                a_FREQUENCY_PIN_CLKOP=str(b.mhz), a_ICP_CURRENT="12", a_LPF_RESISTOR="8",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
                p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=opdiv, p_CLKOP_CPHASE=opdiv // 2 - 1,
                p_CLKOP_FPHASE=0, p_CLKI_DIV=ckdiv, p_CLKFB_DIV=fbdiv, p_FEEDBK_PATH="CLKOP",
                i_CLKI=clk_in, i_CLKFB=pll_out, i_RST=0, i_STDBY=0, i_PHASESEL0=0,
                i_PHASESEL1=0, i_PHASEDIR=0, i_PHASESTEP=0, i_PHASELOADREG=0,
                i_PLLWAKESYNC=0, i_ENCLKOP=0, o_CLKOP=pll_out, o_LOCK=locked)
            m.d.comb += ClockSignal("sync").eq(pll_out)
            platform.add_clock_constraint(pll_out, b.mhz * 1e6)
        # reset: held while the clock settles (and the PLL locks) and while
        # the first button is pressed
        settle = Signal(8)
        button = pin(m, platform, "i", "button")
        ready = (settle == 255) & locked
        with m.If(~ready):
            m.d.por += settle.eq(settle + 1)
        m.d.comb += ResetSignal("sync").eq(~ready | button)
        m.submodules.demo = demo = self.demo
        if b.uart:
            from amaranth.build import Attrs, Pins, Resource, Subsignal
            rx, tx = b.uart
            platform.add_resources([Resource(
                "uart", 0, Subsignal("rx", Pins(rx, dir="i", conn=("io", 0))),
                Subsignal("tx", Pins(tx, dir="o", conn=("io", 0))),
                Attrs(IO_TYPE="LVCMOS33"))])
        uart = platform.request("uart", 0, dir={sub.name: "-" for sub in
                                                platform.lookup("uart", 0).ios})
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [demo.rx.eq(rx.i), tx.o.eq(demo.tx)]
        if b.leds == "rgb_led":
            rgb = platform.request("rgb_led", 0, dir={"r": "-", "g": "-", "b": "-"})
            ports = [rgb.b, rgb.g, rgb.r]    # busy, clean, decode error (no fourth)
        else:
            ports = [platform.request("led", n, dir="-") for n in range(4)
                     if ("led", n) in platform.resources]
        for n, port in enumerate(ports):
            m.submodules[f"led{n}"] = led = io.Buffer("o", port)
            m.d.comb += led.o.eq(demo.leds[n])
        return m


def build(name, build_dir="build/boards", program=False, seed=1):
    """Build the bitstream for board ``name``; returns the report dict."""
    board = BOARDS[name]
    use_tools()
    plat = board.make_platform()
    top = BoardTop(board)
    bdir = Path(build_dir) / name
    raw, seconds = place_and_route(plat, top, "top", bdir, board.family, seed, "-abc9")
    bit = bdir / ("top.bin" if board.family == "ice40" else "top.bit")
    rep = report_dict(raw, board, plat, str(bit), seconds, top.demo)
    if program:
        tool = shutil.which(board.programmer)
        if tool is None:
            raise BuildFailed(f"--program needs {board.programmer}, which is not installed "
                              f"(the bitstream is {bit})")
        args = {"iceprog": [tool, str(bit)], "openFPGALoader": [tool, "-b", name, str(bit)],
                "dfu-util": [tool, "-D", str(bit.with_suffix(".dfu"))]}[board.programmer]
        subprocess.run(args, check=True)
    return rep


def report_dict(raw, board, plat, bitstream, seconds, demo):
    """``REPORT.json`` of ``python -m boards build`` from nextpnr's
    ``--report`` output ``raw``."""
    return {
        "board": board.name, "device": plat.device, "package": plat.package,
        "fmax_mhz": {clk: round(v["achieved"], 2) for clk, v in raw["fmax"].items()
                     if not clk.startswith("$PACKER")},
        "target_mhz": {clk: round(v["constraint"], 2) for clk, v in raw["fmax"].items()
                       if not clk.startswith("$PACKER")},
        "utilization": {bel: {"used": v["used"], "available": v["available"]}
                        for bel, v in raw["utilization"].items() if v["used"]},
        "bitstream": bitstream, "seconds": round(seconds, 1),
        "codec": {"clock_mhz": board.mhz, "clock": board.clock, "lossy": board.lossy,
                  "baud": BAUD, "memory": "SPRAM" if board.spram else "block RAM",
                  "value_bytes": demo.value_words * 4, "data_bytes": demo.data_words * 4,
                  "config_id": protocol.config_id(demo.config, demo.dtype)},
    }
