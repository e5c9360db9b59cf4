"""Block RAM whose read leaves through the block's own output register.

An ECP5 DP16KD's read data come 5.8 ns after the clock without its output
register (nextpnr's timing model) and about 1 ns after it with one
(``REGMODE = "OUTREG"``): with the register, nothing but the route stands
between the block and the next flip-flop. Yosys does not map a register
after a read into it, so on the ECP5 :class:`PipelinedMemory` instantiates
DP16KD itself; elsewhere (the iCE40, simulation) it is an Amaranth
``Memory`` with a register after its read port, the same two-clock read.
:class:`PipelinedQueue` is a FIFO around it, :class:`SlotQueues` several
FIFOs in one.
"""
import functools
import operator

from amaranth import Cat, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

#: DP16KD widths (one block, one read port and one write port): width ->
#: (DATA_WIDTH, the lowest address pin of a word's address)
DP16KD_MODES = {1: (1, 0), 2: (2, 1), 4: (4, 2), 9: (9, 3), 18: (18, 4), 36: (36, 5)}


def one_hot_choice(hot, values):
    """``values[s]`` for the one bit ``s`` set in ``hot`` (zero where none
    is): an OR of ANDs, with no chain of choices by a number."""
    return functools.reduce(operator.or_, (Mux(hot[s], v, 0) for s, v in enumerate(values)))


def on_ecp5(platform):
    """Whether ``platform`` is an ECP5 (its device name starts LFE5)."""
    return str(getattr(platform, "device", "")).startswith("LFE5")


def dp16kd_mode(width, depth):
    """The DP16KD data width that holds ``depth`` words of ``width`` bits in
    one block (16,384 x 1 ... 2,048 x 9, 1,024 x 18, 512 x 36), or None."""
    for w, (dw, low) in DP16KD_MODES.items():
        if width <= dw and depth <= 1 << (14 - low):
            return dw
    return None


class PipelinedMemory(wiring.Component):
    """A memory with one write port and one read port whose data leave
    through an output register: two clocks from address to data.

    Parameters
    ----------
    width, depth : int

    Attributes
    ----------
    w_addr, w_data, w_en : In
        Written at the clock edge where ``w_en``.
    r_addr, r_en : In
        Where ``r_en``, word ``r_addr`` is read into the block's latch at
        the edge (a word written at the same edge is not seen).
    r_oce : In(1)
        Where high, the output register takes the latch at the edge.
    r_data : Out(width)
        The output register.

    Latency and throughput
    ----------------------
    A word read (``r_en``) at edge t is in ``r_data`` after edge t + 1
    where ``r_oce`` is high then; one read and one write per clock. On the
    ECP5, one DP16KD (``dp16kd_mode(width, depth)`` must not be None) with
    ``REGMODE = "OUTREG"`` (or, where one block is too narrow, blocks side
    by side in the widest mode of that depth: 2,048 x 32 bits is four of
    2,048 x 9); elsewhere an Amaranth ``Memory`` and a register.
    """

    def __init__(self, width, depth):
        self.width, self.depth = width, depth
        abits = max(1, ceil_log2(depth))
        super().__init__({
            "w_addr": In(abits), "w_data": In(width), "w_en": In(1),
            "r_addr": In(abits), "r_en": In(1), "r_oce": In(1),
            "r_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        mode = dp16kd_mode(self.width, self.depth)
        if on_ecp5(platform) and mode is not None:
            self._dp16kd(m, mode)
            return m
        # wider than a block: slices side by side, each as wide as a block
        # of this depth can be
        sw = next((dw for dw in (36, 18, 9, 4, 2, 1) if dp16kd_mode(dw, self.depth) == dw), None)
        if on_ecp5(platform) and sw is not None:
            for j, lo in enumerate(range(0, self.width, sw)):
                w = min(sw, self.width - lo)
                m.submodules[f"slice{j}"] = sl = PipelinedMemory(w, self.depth)
                m.d.comb += [sl.w_addr.eq(self.w_addr), sl.w_data.eq(self.w_data[lo:lo + w]),
                             sl.w_en.eq(self.w_en), sl.r_addr.eq(self.r_addr),
                             sl.r_en.eq(self.r_en), sl.r_oce.eq(self.r_oce),
                             self.r_data[lo:lo + w].eq(sl.r_data)]
            return m
        m.submodules.storage = mem = Memory(shape=self.width, depth=self.depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port(domain="sync", transparent_for=())
        m.d.comb += [wp.addr.eq(self.w_addr), wp.data.eq(self.w_data), wp.en.eq(self.w_en),
                     rp.addr.eq(self.r_addr), rp.en.eq(self.r_en)]
        with m.If(self.r_oce):
            m.d.sync += self.r_data.eq(rp.data)
        return m

    def _dp16kd(self, m, mode):
        """One DP16KD: port A writes, port B reads; a 36-bit word is the
        block's pseudo-dual-port mode (its data in on DIA and DIB, out on
        DOA and DOB), as Yosys's own ECP5 mapping wires it."""
        low = DP16KD_MODES[mode][1]
        waddr, raddr = Signal(14), Signal(14)
        m.d.comb += [waddr[low:].eq(self.w_addr), raddr[low:].eq(self.r_addr)]
        di, do = Signal(36), Signal(36)
        m.d.comb += [di.eq(self.w_data), self.r_data.eq(do)]
        pdp = mode == 36
        conns = {
            "i_CLKA": ClockSignal(), "i_CLKB": ClockSignal(),
            "i_CEA": self.w_en, "i_RSTA": 0,
            "i_CEB": self.r_en, "i_OCEB": self.r_oce, "i_RSTB": 0, "i_WEB": 0,
            # in the 36-bit mode half the data leave on port A's pins: its
            # output register enabled alike, whichever enable it follows
            "i_OCEA": self.r_oce if pdp else 1,
        }
        for j in range(3):
            conns[f"i_CSA{j}"] = 0
            conns[f"i_CSB{j}"] = 0
        if pdp:
            # the write's byte enables sit on the low address pins
            conns["i_WEA"] = 1
            for j in range(14):
                conns[f"i_ADA{j}"] = self.w_en if j < 4 else waddr[j]
                conns[f"i_ADB{j}"] = raddr[j]
            for j in range(18):
                conns[f"i_DIA{j}"] = di[j]
                conns[f"i_DIB{j}"] = di[18 + j]
                conns[f"o_DOA{j}"] = do[j]
                conns[f"o_DOB{j}"] = do[18 + j]
        else:
            conns["i_WEA"] = self.w_en
            for j in range(14):
                conns[f"i_ADA{j}"] = waddr[j]
                conns[f"i_ADB{j}"] = raddr[j]
            for j in range(18):
                conns[f"i_DIA{j}"] = di[j]
                conns[f"i_DIB{j}"] = 0
                conns[f"o_DOB{j}"] = do[j]
        m.submodules.block = Instance(
            "DP16KD",
            p_DATA_WIDTH_A=mode, p_DATA_WIDTH_B=mode,
            p_REGMODE_A="OUTREG" if pdp else "NOREG", p_REGMODE_B="OUTREG",
            p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
            p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
            p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="AUTO",
            **conns)


class PipelinedQueue(wiring.Component):
    """A FIFO in a :class:`PipelinedMemory`: the item at its head is the
    block's output register.

    Parameters
    ----------
    width, depth : int
        ``depth`` items in the memory, two more in its latch and output
        register.

    Attributes
    ----------
    w_data, w_en, w_rdy : as ``amaranth.lib.fifo``'s; ``w_rdy`` is a
        flip-flop.
    w_rdy2 : Out(1)
        Room for two items (a flip-flop): a writer whose write enable is
        registered (one write in flight) writes while it is high.
    w_rdy3 : Out(1)
        Room for three items (a flip-flop): for a writer that also decides
        on a registered copy of it (two writes in flight).
    r_data, r_rdy, r_en : as ``amaranth.lib.fifo``'s; ``r_data`` is the
        output register.

    Latency and throughput
    ----------------------
    An item written at edge t is at the head after edge t + 3 at the
    earliest. One write per clock; one item per two clocks out: the head is
    refilled in the clock after it is taken, so ``r_en`` reaches no pin of
    the block (for readers that take an item in two clocks or more).
    """

    def __init__(self, width, depth):
        self.width, self.depth = width, depth
        super().__init__({
            "w_data": In(width), "w_en": In(1),
            "w_rdy": Out(1), "w_rdy2": Out(1), "w_rdy3": Out(1),
            "r_data": Out(width), "r_rdy": Out(1), "r_en": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        D = self.depth
        m.submodules.memory = mem = PipelinedMemory(self.width, D)
        produce = Signal(range(D), name="produce")
        consume = Signal(range(D), name="consume")
        stored = Signal(range(D + 1), name="stored")   # in the memory, not yet read
        latched = Signal(name="latched")               # an item in the block's latch
        # room for n more items, stored <= D - n, as flip-flops
        rooms = {n: Signal(init=1, name=f"room{n}") for n in (1, 2, 3)}
        m.d.comb += [self.w_rdy.eq(rooms[1]), self.w_rdy2.eq(rooms[2]),
                     self.w_rdy3.eq(rooms[3]), self.r_data.eq(mem.r_data)]
        write = self.w_en & self.w_rdy
        # the head takes the latch when empty (a clock after it was taken)
        load = latched & ~self.r_rdy
        read = (stored != 0) & (~latched | load)
        m.d.comb += [mem.w_addr.eq(produce), mem.w_data.eq(self.w_data), mem.w_en.eq(write),
                     mem.r_addr.eq(consume), mem.r_en.eq(read), mem.r_oce.eq(load)]
        with m.If(write):
            m.d.sync += produce.eq(Mux(produce == D - 1, 0, produce + 1))
        with m.If(read):
            m.d.sync += consume.eq(Mux(consume == D - 1, 0, consume + 1))
        m.d.sync += stored.eq(stored + write - read)
        # room after this clock, from tests of the count as it is (not of
        # the sum: the write's enable is late): stored + 1 <= D - n after
        # a write, stored - 1 <= D - n after a read
        with m.If(write & ~read):
            m.d.sync += [r.eq(stored < D - n) for n, r in rooms.items()]
        with m.Elif(read & ~write):
            m.d.sync += [r.eq(stored < D - n + 2) for n, r in rooms.items()]
        with m.If(read):
            m.d.sync += latched.eq(1)
        with m.Elif(load):
            m.d.sync += latched.eq(0)
        with m.If(load):
            m.d.sync += self.r_rdy.eq(1)
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m


class SlotQueues(wiring.Component):
    """``slots`` FIFOs in one :class:`PipelinedMemory` (on the ECP5, eight
    of 256 32-bit items are four DP16KD side by side), written by one
    writer (its write registered before the block's pins), each read
    through a head register of its own. For readers
    that take from a queue a few clocks apart, as the slots of
    :class:`hw.interleaved.InterleavedDecoder` take a word a turn: eight
    queues of 512 in eight blocks spread over the device cost blocks and
    long routes.

    Queue ``s`` is region ``s`` of the memory (``depth`` items). The reads
    share the block's one read port: each clock the lowest queue that
    holds items and has neither a head nor a read in flight is chosen,
    its address formed in the next clock and read in the one after; the
    item reaches its head three clocks after that.

    Parameters
    ----------
    slots, width : int
    depth : int
        Items per queue, a power of two (not counting the head).

    Attributes
    ----------
    w_data : In(width)
    w_en : In(slots)
        One-hot (or zero): the queue written at the edge. The writer writes
        only where there is room (``w_rdy3``, below).
    w_rdy3 : Out(slots)
        Queue ``s`` has room for three more items (flip-flops): for a
        writer that decides on a registered copy and writes a clock later
        (two writes in flight).
    heads : Out(stream.Signature(width)).array(slots)
        Queue ``s``'s head; ``valid`` and ``payload`` are flip-flops.

    Latency and throughput
    ----------------------
    One write per clock. An item written at edge t is at its (empty) head
    after edge t + 6 at the earliest; a head taken at edge t is refilled
    after edge t + 6 (the queue is chosen in the clock after the take,
    addressed in the next, read in the next, its item in the output
    register after the next edge, in the head after the one after): a
    queue gives an item every six clocks, and all of them together one a
    clock. Where several queues wait, the lowest is read first.
    """

    def __init__(self, slots, width, depth):
        assert depth & (depth - 1) == 0, "depth must be a power of two"
        self.slots, self.width, self.depth = slots, width, depth
        super().__init__({
            "w_data": In(width), "w_en": In(slots), "w_rdy3": Out(slots),
            "heads": Out(stream.Signature(width)).array(slots),
        })

    def elaborate(self, platform):
        m = Module()
        C, D = self.slots, self.depth
        abits = ceil_log2(D)
        m.submodules.memory = mem = PipelinedMemory(self.width, C * D)
        produce = [Signal(abits, name=f"produce{s}") for s in range(C)]
        consume = [Signal(abits, name=f"consume{s}") for s in range(C)]
        stored = [Signal(range(D + 1), name=f"stored{s}") for s in range(C)]
        nonempty = Signal(C, name="nonempty")
        owned = Signal(C, name="owned")        # a head or a read in flight
        room3 = Signal(C, name="room3", init=(1 << C) - 1)
        # the read: the lowest queue waiting, chosen from flip-flops and
        # registered (one-hot, ``tag0``); its address formed from that in
        # the next clock and registered before the block's pins
        want = Signal(C, name="want")
        grant = Signal(C, name="grant")
        m.d.comb += want.eq(nonempty & ~owned)
        m.d.comb += [grant[s].eq(want[s] & ~want[:s].any()) for s in range(C)]
        # which queue's item is chosen, read, then in the latch, then in
        # the output register
        tag0, tag1, tag2, tag3 = (Signal(C, name=f"tag{j}") for j in range(4))
        m.d.sync += [tag0.eq(grant), tag1.eq(tag0), tag2.eq(tag1), tag3.eq(tag2)]
        r_addr, w_addr = Signal(len(mem.r_addr)), Signal(len(mem.w_addr))
        r_en = Signal(name="r_en")
        # the chosen queue's number and count from the one-hot tag
        sel = Signal(range(C), name="sel")
        at = Signal(abits, name="read_at")
        m.d.comb += [sel.eq(one_hot_choice(tag0, range(C))),
                     at.eq(one_hot_choice(tag0, consume))]
        m.d.sync += [r_addr.eq(Cat(at, sel)), r_en.eq(tag0.any())]
        # the written queue's address from the one-hot write: an OR of
        # ANDs (a chain of eight choices was the path at eight lanes, 7.1 ns)
        m.d.comb += w_addr.eq(one_hot_choice(
            self.w_en, [Cat(produce[s], Const(s, range(C))) for s in range(C)]))
        # the write, registered too: the counts step at w_en, the memory a
        # clock later, still a clock before a read of the item can reach it
        w_addr_r, w_data_r = Signal.like(w_addr), Signal(self.width)
        w_en_r = Signal()
        m.d.sync += [w_addr_r.eq(w_addr), w_data_r.eq(self.w_data), w_en_r.eq(self.w_en.any())]
        m.d.comb += [mem.r_addr.eq(r_addr), mem.r_en.eq(r_en), mem.r_oce.eq(1),
                     mem.w_addr.eq(w_addr_r), mem.w_data.eq(w_data_r),
                     mem.w_en.eq(w_en_r), self.w_rdy3.eq(room3)]
        for s in range(C):
            # the counts step a clock after the choice (off its path): the
            # queue is owned from the choice on, so it is not chosen again
            # before they have
            write, read = self.w_en[s], tag0[s]
            head = self.heads[s]
            with m.If(write):
                m.d.sync += produce[s].eq(produce[s] + 1)
            with m.If(read):
                m.d.sync += consume[s].eq(consume[s] + 1)
            m.d.sync += stored[s].eq(stored[s] + write - read)
            with m.If(write):
                m.d.sync += nonempty[s].eq(1)
            with m.Elif(read):
                m.d.sync += nonempty[s].eq(stored[s] != 1)
            # room for three after this clock, from the count as it is
            with m.If(write & ~read):
                m.d.sync += room3[s].eq(stored[s] < D - 3)
            with m.Elif(read & ~write):
                m.d.sync += room3[s].eq(stored[s] < D - 1)
            with m.If(tag3[s]):
                m.d.sync += [head.payload.eq(mem.r_data), head.valid.eq(1)]
            with m.Elif(head.ready):
                m.d.sync += head.valid.eq(0)
            with m.If(grant[s]):
                m.d.sync += owned[s].eq(1)
            with m.Elif(head.valid & head.ready):
                m.d.sync += owned[s].eq(0)
        return m
