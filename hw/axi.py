"""AXI4 port signatures and an AXI4-Lite register bridge.

Signal names follow the AXI specification in lower case (``awaddr``,
``wstrb``, ...), so Amaranth's Verilog names them ``<port>__awaddr`` and
cocotbext-axi finds them with ``AxiBus.from_prefix(dut, port,
bus_separator="__")``. Masters carry ID signals (fixed at 0; one
transaction stream per port) because common memory models and
interconnects expect them.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

OKAY, EXOKAY, SLVERR, DECERR = 0, 1, 2, 3


def write_signature(addr_width=32, data_width=64, id_width=4):
    """AXI4 write channels (AW, W, B), master's view."""
    return wiring.Signature({
        "awid": Out(id_width), "awaddr": Out(addr_width), "awlen": Out(8), "awsize": Out(3),
        "awburst": Out(2), "awcache": Out(4), "awprot": Out(3), "awvalid": Out(1),
        "awready": In(1),
        "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1),
        "wvalid": Out(1), "wready": In(1),
        "bid": In(id_width), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
    })


def read_signature(addr_width=32, data_width=64, id_width=4):
    """AXI4 read channels (AR, R), master's view."""
    return wiring.Signature({
        "arid": Out(id_width), "araddr": Out(addr_width), "arlen": Out(8), "arsize": Out(3),
        "arburst": Out(2), "arcache": Out(4), "arprot": Out(3), "arvalid": Out(1),
        "arready": In(1),
        "rid": In(id_width), "rdata": In(data_width), "rresp": In(2), "rlast": In(1),
        "rvalid": In(1), "rready": Out(1),
    })


def lite_signature(addr_width=12):
    """AXI4-Lite, 32-bit data, master's view (a slave takes it flipped,
    ``In(lite_signature())``)."""
    return wiring.Signature({
        "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
        "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
        "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
    })


class LiteBridge(wiring.Component):
    """AXI4-Lite slave to simple register strobes.

    One write and one read at a time. A write is taken when its address
    and data are both valid; the register block sees ``w_stb`` for one
    cycle with ``w_addr`` and ``w_data`` (whole 32-bit words: ``wstrb`` is
    ignored), and the response is OKAY. A read is taken from ``araddr``;
    the block answers on ``r_data`` for ``r_addr`` (combinationally from
    the registers) and the bridge registers it into ``rdata``.

    Parameters
    ----------
    addr_width : int
        Byte address width of the register space.

    Attributes
    ----------
    bus : In(lite_signature(addr_width))
    w_stb : Out(1)
    w_addr : Out(addr_width)
    w_data : Out(32)
    r_addr : Out(addr_width)
    r_data : In(32)

    Latency and throughput
    ----------------------
    A write: taken the cycle after AW and W are both valid, response the
    cycle after. A read: taken the cycle after AR is valid, data the cycle
    after. Two cycles per transaction at best.
    """

    def __init__(self, addr_width=12):
        self.addr_width = addr_width
        super().__init__({
            "bus": In(lite_signature(addr_width)),
            "w_stb": Out(1), "w_addr": Out(addr_width), "w_data": Out(32),
            "r_addr": Out(addr_width), "r_data": In(32),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        # write: accept AW and W together, then hold B until taken
        take_w = Signal()
        m.d.comb += [
            take_w.eq(bus.awvalid & bus.wvalid & ~bus.bvalid & ~bus.awready),
            self.w_addr.eq(bus.awaddr), self.w_data.eq(bus.wdata),
            self.w_stb.eq(bus.awready),   # the cycle AW and W transfer
            bus.wready.eq(bus.awready), bus.bresp.eq(0), bus.rresp.eq(0),
        ]
        m.d.sync += bus.awready.eq(take_w)
        with m.If(bus.awready):
            m.d.sync += bus.bvalid.eq(1)
        with m.Elif(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)
        # read: accept AR, then answer
        m.d.sync += bus.arready.eq(bus.arvalid & ~bus.arready & ~bus.rvalid)
        m.d.comb += self.r_addr.eq(bus.araddr)
        with m.If(bus.arready):
            m.d.sync += [bus.rvalid.eq(1), bus.rdata.eq(self.r_data)]
        with m.Elif(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        return m
