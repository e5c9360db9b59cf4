"""A UART (8 data bits, no parity, one stop bit) for the board demo."""
from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class UartRx(wiring.Component):
    """Receives bytes from the ``rx`` line.

    Parameters
    ----------
    divider : int
        Clocks per bit (the clock over the baud rate), at least 4.

    Attributes
    ----------
    rx : In(1)
        The line, idle high; synchronised here (two flip-flops).
    o : Out(stream.Signature(8))
        Received bytes. A byte that arrives while the previous one is
        still not taken is dropped and counted in ``overrun``.
    frame_error : Out(1)
        One-cycle strobe: a stop bit was low (the byte is dropped).
    overrun : Out(1)
        One-cycle strobe: a byte was dropped because ``o`` was full.

    Latency and throughput
    ----------------------
    A byte is valid half a bit after its stop bit's middle, ten bits per
    byte at most.
    """

    def __init__(self, divider):
        if divider < 4:
            raise ValueError(f"divider must be at least 4 clocks per bit, got {divider}")
        self.divider = divider
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(8)),
                          "frame_error": Out(1), "overrun": Out(1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divider
        sync1, line = Signal(init=1), Signal(init=1)
        m.d.sync += [sync1.eq(self.rx), line.eq(sync1)]
        timer = Signal(range(d + d // 2 + 1))
        bit = Signal(range(10))
        shift = Signal(8)
        busy = Signal()
        m.d.sync += [self.frame_error.eq(0), self.overrun.eq(0)]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(~busy):
            with m.If(~line):  # a start bit: sample the first data bit 1.5 bits on
                m.d.sync += [busy.eq(1), timer.eq(d + d // 2 - 1), bit.eq(0)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [timer.eq(d - 1), bit.eq(bit + 1)]
            with m.If(bit < 8):
                m.d.sync += shift.eq((shift >> 1) | (line << 7))
            with m.Else():  # the stop bit
                m.d.sync += busy.eq(0)
                with m.If(~line):
                    m.d.sync += self.frame_error.eq(1)
                with m.Elif(self.o.valid & ~self.o.ready):
                    m.d.sync += self.overrun.eq(1)
                with m.Else():
                    m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(shift)]
        return m


class UartTx(wiring.Component):
    """Sends bytes on the ``tx`` line.

    Parameters
    ----------
    divider : int
        Clocks per bit.

    Attributes
    ----------
    i : In(stream.Signature(8))
    tx : Out(1)
        The line, idle high (registered).

    Latency and throughput
    ----------------------
    A byte is taken when the line is idle or its previous stop bit ends;
    ten bits per byte, back to back.
    """

    def __init__(self, divider):
        if divider < 4:
            raise ValueError(f"divider must be at least 4 clocks per bit, got {divider}")
        self.divider = divider
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divider
        timer = Signal(range(d))
        frame = Signal(10, init=0x3FF)   # stop, data LSB first, start: shifted out LSB first
        left = Signal(range(11))
        m.d.comb += self.i.ready.eq(left == 0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq((1 << 9) | (self.i.payload << 1)), left.eq(10),
                         timer.eq(d - 1), self.tx.eq(0)]
        with m.Elif(left != 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [timer.eq(d - 1), left.eq(left - 1), frame.eq(frame >> 1)]
                m.d.sync += self.tx.eq(frame[1] | (left == 1))
        return m
