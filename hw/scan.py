"""Reordering of the 64 values of a block: transposition and coefficient
scans (twin of :mod:`golden.scan`)."""
from amaranth import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden import scan as gscan

from .dct import sample_layout
from .quantizer import coef_layout

#: Column-major order: the j-th value of a transposed block is at raster
#: position COLUMN[j].
COLUMN = gscan.order("column")
RASTER = gscan.order("raster")


def lookup(m, index, table, shape, name):
    """``table[index]`` for a constant table, as a comb signal."""
    out = Signal(shape, name=name)
    with m.Switch(index):
        for j, v in enumerate(table):
            with m.Case(j):
                m.d.comb += out.eq(v)
    return out


class Reorder(wiring.Component):
    """Writes each block's 64 values in one order and reads them in another,
    through a double-buffered 128-entry memory.

    Parameters
    ----------
    width : int
        Signed value width.
    write_order, read_order : sequence of 64 raster positions
        The j-th value written of a block is the one at raster position
        ``write_order[j]``; the j-th read is ``read_order[j]``.

    Attributes
    ----------
    i : In(stream.Signature(hw.dct.sample_layout(width)))
    o : Out(stream.Signature(hw.quantizer.coef_layout(width)))
        ``index`` is j, ``pos`` is ``read_order[j]``; ``first`` marks the
        first value of a block that started a tile, ``last`` the last value
        of a block that ended one.

    Latency and throughput
    ----------------------
    A block's first value is valid two cycles after its 64th value is
    taken; one value per clock (one bank fills while the other drains).
    """

    def __init__(self, width, write_order, read_order):
        self.width = width
        self.write_order = tuple(write_order)
        self.read_order = tuple(read_order)
        super().__init__({
            "i": In(stream.Signature(sample_layout(width))),
            "o": Out(stream.Signature(coef_layout(width))),
        })

    def elaborate(self, platform):
        m = Module()
        w = self.width
        m.submodules.mem = mem = Memory(shape=unsigned(w + 1), depth=128, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        full = Signal(2)
        wbank, rbank = Signal(), Signal()
        wj, rj = Signal(6), Signal(6)
        bfirst, blast = Signal(2), Signal(2)  # per bank: the block starts / ends a tile

        # writer
        m.d.comb += self.i.ready.eq(~full.bit_select(wbank, 1))
        accept = self.i.valid & self.i.ready
        waddr = lookup(m, wj, self.write_order, 6, "waddr")
        m.d.comb += [
            wr.addr.eq(waddr | (wbank << 6)),
            wr.data.eq(self.i.payload.value.as_unsigned() | (self.i.payload.present << w)),
            wr.en.eq(accept),
        ]
        with m.If(accept):
            m.d.sync += wj.eq(wj + 1)
            with m.If(wj == 0):
                m.d.sync += bfirst.bit_select(wbank, 1).eq(self.i.payload.first)
            with m.If(wj == 63):
                m.d.sync += [blast.bit_select(wbank, 1).eq(self.i.payload.last),
                             wbank.eq(~wbank)]

        # reader: the output register is the memory's read data
        ov = Signal()
        ready_o = ~ov | self.o.ready
        issue = full.bit_select(rbank, 1) & ready_o
        raddr = lookup(m, rj, self.read_order, 6, "raddr")
        m.d.comb += [rd.addr.eq(raddr | (rbank << 6)), rd.en.eq(issue), self.o.valid.eq(ov)]
        oj, opos, ofirst, olast = Signal(6), Signal(6), Signal(), Signal()
        m.d.comb += [
            self.o.payload.value.eq(rd.data[:w]),
            self.o.payload.present.eq(rd.data[w]),
            self.o.payload.index.eq(oj),
            self.o.payload.pos.eq(opos),
            self.o.payload.first.eq(ofirst),
            self.o.payload.last.eq(olast),
        ]
        with m.If(issue):
            m.d.sync += [
                ov.eq(1), oj.eq(rj), opos.eq(raddr), rj.eq(rj + 1),
                ofirst.eq((rj == 0) & bfirst.bit_select(rbank, 1)),
                olast.eq((rj == 63) & blast.bit_select(rbank, 1)),
            ]
            with m.If(rj == 63):
                m.d.sync += rbank.eq(~rbank)
        with m.Elif(self.o.ready):
            m.d.sync += ov.eq(0)

        # a bank is full from its 64th write to its 64th read
        set_full = accept & (wj == 63)
        clear_full = issue & (rj == 63)
        for b in range(2):
            with m.If(set_full & (wbank == b)):
                m.d.sync += full[b].eq(1)
            with m.Elif(clear_full & (rbank == b)):
                m.d.sync += full[b].eq(0)
        return m
