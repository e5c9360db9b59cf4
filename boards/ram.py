"""The on-chip memory standing in for DRAM on a board: block RAM, or the
iCE40 UP5K's single-port SPRAM."""
from amaranth import Cat, ClockSignal, Instance, Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

SPRAM_DEPTH = 16384  # 16-bit words of one SB_SPRAM256KA


class Ram(wiring.Component):
    """One port of ``depth`` 32-bit words with byte writes.

    Parameters
    ----------
    depth : int
    spram : bool
        Two iCE40 ``SB_SPRAM256KA`` side by side (``depth`` 16384)
        instead of inferred block RAM.

    Attributes
    ----------
    addr : In(range(depth))
    wdata : In(32)
    wmask : In(4)
        Bytes of ``wdata`` to write at ``addr`` (the rest of the word keeps).
    rdata : Out(32)
        The word at the previous cycle's ``addr`` (one clock of latency),
        after a cycle that read: a cycle that writes does not read, and
        ``rdata`` after it is unspecified (the users never read and write
        at once; block RAM would need bypass logic to define it).
    """

    def __init__(self, depth, spram=False):
        if spram and depth != SPRAM_DEPTH:
            raise ValueError(f"SPRAM has {SPRAM_DEPTH} words, not {depth}")
        self.depth, self.spram = depth, spram
        super().__init__({"addr": In(ceil_log2(depth)), "wdata": In(32), "wmask": In(4),
                          "rdata": Out(32)})

    def elaborate(self, platform):
        m = Module()
        if self.spram:
            for half in range(2):
                mask = self.wmask[2 * half:2 * half + 2]
                m.submodules[f"spram{half}"] = Instance(
                    "SB_SPRAM256KA",
                    i_ADDRESS=self.addr, i_DATAIN=self.wdata[16 * half:16 * half + 16],
                    # nibble write enables: two per byte
                    i_MASKWREN=Cat(mask[0], mask[0], mask[1], mask[1]),
                    i_WREN=mask.any(), i_CHIPSELECT=1, i_CLOCK=ClockSignal(),
                    i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1,
                    o_DATAOUT=self.rdata[16 * half:16 * half + 16])
            return m
        m.submodules.mem = mem = Memory(shape=32, depth=self.depth, init=[])
        w = mem.write_port(granularity=8)
        r = mem.read_port()
        m.d.comb += [w.addr.eq(self.addr), w.data.eq(self.wdata), w.en.eq(self.wmask),
                     r.addr.eq(self.addr), r.en.eq(~self.wmask.any()), self.rdata.eq(r.data)]
        return m
