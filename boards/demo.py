"""The board demo: the codec behind a UART, with on-chip memory standing in
for DRAM (protocol in :mod:`boards.protocol`)."""
from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from golden.config import DTYPES
from hw.compressor import Compressor, lossy_build
from hw.decompressor import Decompressor
from hw.expgolomb import max_item_length
from hw.tiling import block_extent, next_block, tensor_end

from . import protocol
from .ram import Ram
from .uart import UartRx, UartTx

WORD_BYTES = 4


def crc16_byte(crc, byte):
    """CRC-16/CCITT-FALSE after one more byte (comb, unrolled)."""
    bits = [crc[i] for i in range(16)]
    for j in reversed(range(8)):
        top = bits[15] ^ byte[j]
        bits = [Const(0, 1)] + bits[:15]
        bits = [b ^ top if (0x1021 >> i) & 1 else b for i, b in enumerate(bits)]
    return Cat(*bits)


class Fetch(wiring.Component):
    """Reads ``count`` items (``item_bits`` each, little-endian within the
    32-bit words) from a memory with one clock of read latency, from
    address 0, into a stream.

    No queue: the memory's output register is the stream's payload. The
    address stays on the item in front until it is taken, so the memory
    keeps showing it, and moves to the next one in the cycle it is taken.

    Parameters
    ----------
    item_bits : {8, 16, 32}
    addr_width, count_width : int
        Widths of the memory's word address and of the item count.

    Attributes
    ----------
    start : In(1)
        Strobe: begin with ``count`` (while not ``busy``).
    count : In(count_width)
    addr : Out(addr_width)
        Word address; the memory's address input, always (``o.ready``
        reaches it combinationally).
    rdata : In(32)
    o : Out(stream.Signature(item_bits))
    busy : Out(1)
        Items not yet taken from ``o``.

    Latency and throughput
    ----------------------
    The first item is valid the clock after ``start``; one item per clock
    after that.
    """

    def __init__(self, item_bits, addr_width, count_width):
        self.item_bits = item_bits
        super().__init__({"start": In(1), "count": In(count_width), "addr": Out(addr_width),
                          "rdata": In(32), "o": Out(stream.Signature(item_bits)),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        shift = exact_log2(32 // self.item_bits)
        i = Signal.like(self.count)   # the item whose word the memory shows
        n = Signal.like(self.count)
        take = self.o.valid & self.o.ready
        at = Signal.like(self.count)  # the item whose word to show next
        m.d.comb += at.eq(Mux(self.start, 0, Mux(take, i + 1, i)))
        m.d.comb += [
            self.addr.eq(at >> shift),
            self.busy.eq(i != n),
            self.o.valid.eq(self.busy),
            self.o.payload.eq(self.rdata.word_select(i[:shift], self.item_bits)
                              if shift else self.rdata),
        ]
        m.d.sync += i.eq(at)
        with m.If(self.start):
            m.d.sync += n.eq(self.count)
        return m


class Demo(wiring.Component):
    """The codec (one lane, 32-bit words) behind a UART: a host sends a
    tensor's positions, the board compresses them into its data memory,
    sends the stream back, decompresses it and sends the reconstruction
    with the error flags and the clocks each direction took
    (:mod:`boards.protocol`).

    Parameters
    ----------
    config : golden.config.Config
    dtype : {"uint8", "int8"}
    lossy : bool
        A lossy build (step table loadable with a ``T`` frame) or a
        lossless-only one.
    divider : int
        Clocks per UART bit.
    clock_hz : int
        The clock, reported in the ``I`` frame.
    value_words, data_words, index_entries : int
        32-bit words of the value memory (the tensor in, the
        reconstruction out), of the data memory (the stream) and entries
        of the tile-length memory.
    spram : bool
        Value and data memories in iCE40 SPRAM (16384 words each).
    frame_timeout : int
        Clocks of silence inside a frame after which it is dropped (error 7).

    Attributes
    ----------
    rx : In(1)
    tx : Out(1)
    leds : Out(4)
        Busy, last tensor decoded without error, last tensor had a decode
        error, last frame was refused (an ``E`` reply).

    Latency and throughput
    ----------------------
    The codec runs at one value per clock from memory to memory (the
    ``R`` reply reports its clocks each way); the UART sets the rest: ten
    bits per byte each way, one request at a time.
    """

    def __init__(self, config, dtype="uint8", lossy=False, divider=12, clock_hz=6_000_000,
                 value_words=16384, data_words=16384, index_entries=1024, spram=False,
                 frame_timeout=None):
        # pred's run mode builds lossless only, as the codec's tops do
        self.config, self.dtype = config.replace(align=WORD_BYTES), dtype
        self.lossy = lossy_build(config, lossy)
        self.divider, self.clock_hz = divider, clock_hz
        self.value_words, self.data_words = value_words, data_words
        self.index_entries, self.spram = index_entries, spram
        self.frame_timeout = frame_timeout or max(clock_hz // 10, 64 * divider)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(4)})

    def info_bytes(self):
        """The payload of the ``I`` reply."""
        return protocol.INFO.pack(
            protocol.VERSION, int(self.lossy), WORD_BYTES, DTYPES.index(self.dtype),
            self.config.tile_blocks, protocol.config_id(self.config, self.dtype),
            self.data_words * WORD_BYTES, self.value_words * WORD_BYTES, self.index_entries,
            self.clock_hz, self.divider)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.urx = urx = UartRx(self.divider)
        m.submodules.utx = utx = UartTx(self.divider)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        m.submodules.compressor = comp = Compressor(cfg, self.dtype, 32, lossy=self.lossy)
        m.submodules.decompressor = dec = Decompressor(cfg, self.dtype, 32, lossy=self.lossy,
                                                          ranges=False)
        spram = self.spram
        m.submodules.vmem = vmem = Ram(self.value_words, spram)
        m.submodules.dmem = dmem = Ram(self.data_words, spram)
        m.submodules.imem = imem = Ram(self.index_entries)
        vbytes = self.value_words * WORD_BYTES
        cw = ceil_log2(vbytes + 1)
        dw = ceil_log2(self.data_words + 1)
        iw = ceil_log2(self.index_entries + 1)
        # one byte fetcher (for the compressor, and for every reply's body)
        # and two word fetchers (the decompressor's words and lengths)
        m.submodules.fetch_b = fb = Fetch(8, max(len(vmem.addr), len(dmem.addr), len(imem.addr)),
                                          max(cw, dw + 2, iw + 2))
        m.submodules.fetch_w = fw = Fetch(32, len(dmem.addr), dw)
        m.submodules.fetch_l = fl = Fetch(32, len(imem.addr), iw)
        VMEM, DMEM, IMEM = 0, 1, 2
        b_src = Signal(2)
        m.d.comb += fb.rdata.eq(Mux(b_src == VMEM, vmem.rdata,
                                    Mux(b_src == DMEM, dmem.rdata, imem.rdata)))
        m.d.comb += [fw.rdata.eq(dmem.rdata), fl.rdata.eq(imem.rdata)]

        # -- receiving a frame ---------------------------------------------
        kind = Signal(8)
        length = Signal(32)
        left = Signal(32)             # payload bytes still to come
        got = Signal(cw + 1)          # payload bytes received, up to a full value memory
        crc = Signal(16)
        crc_rx = Signal(16)
        idx = Signal(2)               # byte of a multi-byte field
        planes = Signal(32)
        height = Signal(16)
        width = Signal(16)
        code = Signal(4)              # the refusal to send, 0: none
        detail = Signal(24)           # what the refusal is about, by its code
        quiet = Signal(range(self.frame_timeout + 1))
        byte = urx.o.payload
        rx_take = urx.o.valid & urx.o.ready
        rx_crc = Signal(16)
        m.d.comb += rx_crc.eq(crc16_byte(crc, byte))

        # -- positions and blocks of the tensor --------------------------
        # (as wide as a tensor that fits the value memory needs: a larger
        # one never reaches its last block, and is refused as too big)
        blocks = vbytes // 64
        pos = Signal(6)
        bcol = Signal(range(min(blocks, 1 << 13)))
        brow = Signal.like(bcol)
        plane = Signal(range(min(blocks, 1 << 24)))
        tblk = Signal(range(cfg.tile_blocks))   # block within its tile
        # the block as a tile place, for hw.tiling's block helpers
        width_last, height_last = Signal(16), Signal(16)
        m.d.comb += [width_last.eq(width - 1), height_last.eq(height - 1)]
        at = SimpleNamespace(bcol=bcol, brow=brow, plane=plane, planes=(planes - 1)[:24],
                             bw=width_last[3:], bh=height_last[3:],
                             cols_last=width_last[:3], rows_last=height_last[:3])
        rows, cols = block_extent(at)
        present = (pos[3:] <= rows) & (pos[:3] <= cols)
        at_last = tensor_end(at) & (pos == 63)
        tile_start = (pos == 0) & (tblk == 0)
        seen_last = Signal()

        def blocks_reset():
            m.d.sync += [pos.eq(0), bcol.eq(0), brow.eq(0), plane.eq(0), tblk.eq(0),
                         seen_last.eq(0)]

        def blocks_step():
            m.d.sync += pos.eq(pos + 1)
            with m.If(at_last):
                m.d.sync += seen_last.eq(1)
            with m.If(pos == 63):
                m.d.sync += tblk.eq(Mux(tblk == cfg.tile_blocks - 1, 0, tblk + 1))
                next_block(m, at)

        # -- compression and decompression counters -----------------------
        # widths from the value memory: a tile per block at most, and at
        # most the longest item's bits per value
        tiles = Signal(range(blocks + 2))           # lengths out of the compressor
        tiles_expected = Signal.like(tiles)         # tiles into it
        words = Signal(range(vbytes * max_item_length(cfg, self.dtype) // 32 + blocks + 2))
        words_expected = Signal.like(words)         # words its lengths announce
        room_w = words < self.data_words
        room_t = tiles < self.index_entries
        cycles_c = Signal(24)         # 2**24 clocks: over a second at the boards' clocks
        cycles_d = Signal(24)
        vpos = Signal(cw)             # value bytes written: the tensor's, then its reconstruction
        dec_err = Signal()
        dec_cause = Signal(3)
        dec_tile = Signal.like(tiles)
        shape_valid = Signal()

        # -- sending a frame -----------------------------------------------
        tx_kind = Signal(8)
        send_go = Signal()
        send_done = Signal()
        info = self.info_bytes()

        def u32(v, shift=0):
            """``v << shift`` as a 32-bit field."""
            return Cat(Const(0, shift), v, Const(0, 32 - shift - len(v)))

        result = Cat(dec_err.as_unsigned(), Const(0, 7), dec_cause, Const(0, 5), Const(0, 16),
                     u32(dec_tile), u32(cycles_c), u32(cycles_d))
        counts = Cat(u32(tiles), u32(words, 2))
        refusal = Cat(code, Const(0, 28), detail, Const(0, 8))
        hdr_len = Signal(6)
        body_a = Signal(cw + 1)
        body_b = Signal(cw + 1)
        src_a = Signal(2)             # the second body, if any, is the data memory's
        tx_len = Signal(cw + 2)

        def reply(k):
            """Start sending the reply of kind ``k`` (its fields are read
            while it goes out: they hold still until then)."""
            m.d.sync += tx_kind.eq(ord(k))
            m.d.comb += send_go.eq(1)

        sizes = {"I": (len(info), 0, 0), "E": (8, 0, 0), "K": (0, 0, 0),
                 "Z": (8, tiles << 2, words << 2), "R": (16, vpos, 0)}
        with m.Switch(tx_kind):
            for k, (h, a, b) in sizes.items():
                with m.Case(ord(k)):
                    m.d.comb += [hdr_len.eq(h), body_a.eq(a), body_b.eq(b)]
        m.d.comb += [tx_len.eq(hdr_len + body_a + body_b),
                     src_a.eq(Mux(tx_kind == ord("Z"), IMEM, VMEM))]

        hdr_byte = Signal(8)
        hpos = Signal(5)
        with m.Switch(tx_kind):
            with m.Case(ord("I")):
                m.d.comb += hdr_byte.eq(Const(int.from_bytes(info, "little"), 8 * len(info))
                                        .word_select(hpos, 8))
            with m.Case(ord("E")):
                m.d.comb += hdr_byte.eq(refusal.word_select(hpos[:3], 8))
            with m.Case(ord("Z")):
                m.d.comb += hdr_byte.eq(counts.word_select(hpos[:3], 8))
            with m.Case(ord("R")):
                m.d.comb += hdr_byte.eq(result.word_select(hpos[:4], 8))

        # the memories' users, by phase
        RECV, COMP, DECOMP, SEND = 0, 1, 2, 3
        phase = Signal(2)
        vwrite = Signal()
        with m.Switch(phase):
            with m.Case(RECV):
                m.d.comb += [vmem.addr.eq(vpos >> 2), vmem.wdata.eq(byte.replicate(4)),
                             vmem.wmask.eq(Mux(vwrite, 1 << vpos[:2], 0))]
            with m.Case(COMP):
                m.d.comb += [vmem.addr.eq(fb.addr), dmem.addr.eq(words),
                             dmem.wdata.eq(comp.o.payload),
                             dmem.wmask.eq(Mux(comp.o.valid & room_w, 0xF, 0)),
                             imem.addr.eq(tiles), imem.wdata.eq(comp.lengths.payload),
                             imem.wmask.eq(Mux(comp.lengths.valid & room_t, 0xF, 0))]
            with m.Case(DECOMP):
                m.d.comb += [vmem.addr.eq(vpos >> 2),
                             vmem.wdata.eq(dec.o.payload.data.as_unsigned().replicate(4)),
                             vmem.wmask.eq(Mux(dec.o.valid & dec.o.payload.present,
                                               1 << vpos[:2], 0)),
                             dmem.addr.eq(fw.addr), imem.addr.eq(fl.addr)]
            with m.Case(SEND):
                m.d.comb += [vmem.addr.eq(fb.addr), dmem.addr.eq(fb.addr), imem.addr.eq(fb.addr)]

        # -- the sender ------------------------------------------------------
        tx_crc = Signal(16)
        tbyte = Signal(8)
        tx_next = Signal(16)
        m.d.comb += tx_next.eq(crc16_byte(tx_crc, tbyte))
        tvalid = Signal()
        m.d.comb += [utx.i.payload.eq(tbyte), utx.i.valid.eq(tvalid)]
        tx_take = utx.i.valid & utx.i.ready
        tpos = Signal(2)
        with m.FSM(name="send"):
            with m.State("IDLE"):
                with m.If(send_go):
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += [tvalid.eq(1), tbyte.eq(protocol.SYNC)]
                with m.If(tx_take):
                    m.d.sync += tx_crc.eq(0xFFFF)
                    m.next = "KIND"
            with m.State("KIND"):
                m.d.comb += [tvalid.eq(1), tbyte.eq(tx_kind)]
                with m.If(tx_take):
                    m.d.sync += [tx_crc.eq(tx_next), tpos.eq(0)]
                    m.next = "LEN"
            with m.State("LEN"):
                m.d.comb += [tvalid.eq(1),
                             tbyte.eq(Cat(tx_len, Const(0, 32 - len(tx_len))).word_select(tpos, 8))]
                with m.If(tx_take):
                    m.d.sync += [tx_crc.eq(tx_next), tpos.eq(tpos + 1),
                                 hpos.eq(0)]
                    with m.If(tpos == 3):
                        m.next = "HDR"
            with m.State("HDR"):
                with m.If(hpos == hdr_len):
                    m.d.sync += [b_src.eq(src_a)]
                    m.d.comb += [fb.start.eq(1), fb.count.eq(body_a)]
                    m.next = "BODYA"
                with m.Else():
                    m.d.comb += [tvalid.eq(1), tbyte.eq(hdr_byte)]
                    with m.If(tx_take):
                        m.d.sync += [tx_crc.eq(tx_next), hpos.eq(hpos + 1)]
            for name, nxt, src, count in (("BODYA", "BODYB", DMEM, body_b),
                                          ("BODYB", "CRC", None, None)):
                with m.State(name):
                    m.d.comb += [tvalid.eq(fb.o.valid), tbyte.eq(fb.o.payload),
                                 fb.o.ready.eq(utx.i.ready)]
                    with m.If(tx_take):
                        m.d.sync += tx_crc.eq(tx_next)
                    with m.If(~fb.busy):
                        if src is not None:
                            m.d.sync += b_src.eq(src)
                            m.d.comb += [fb.start.eq(1), fb.count.eq(count)]
                        m.d.sync += tpos.eq(0)
                        m.next = nxt
            with m.State("CRC"):
                m.d.comb += [tvalid.eq(1), tbyte.eq(tx_crc.word_select(tpos[0], 8))]
                with m.If(tx_take):
                    m.d.sync += tpos.eq(tpos + 1)
                    with m.If(tpos[0]):
                        m.d.comb += send_done.eq(1)
                        m.next = "IDLE"

        # -- the main sequence ---------------------------------------------
        with m.Switch(code):
            with m.Case(1):
                m.d.comb += detail.eq(crc_rx)
            with m.Case(2):
                m.d.comb += detail.eq(kind)
            with m.Case(3, 4, 8):
                m.d.comb += detail.eq(length)
            with m.Case(5):
                m.d.comb += detail.eq(words_expected)

        def refuse(c):
            m.d.sync += [code.eq(c), self.leds[3].eq(1)]
            reply("E")
            m.next = "SEND"

        after_send = Signal()   # decompress once the Z reply is out
        with m.FSM(name="main"):
            with m.State("HUNT"):
                m.d.comb += [urx.o.ready.eq(1), phase.eq(RECV)]
                with m.If(rx_take & (byte == protocol.SYNC)):
                    m.d.sync += [crc.eq(0xFFFF), quiet.eq(0)]
                    m.next = "KIND"

            def receiving(ready=1):
                """Take bytes; drop the frame after a silence."""
                m.d.comb += [urx.o.ready.eq(ready), phase.eq(RECV)]
                with m.If(rx_take):
                    m.d.sync += quiet.eq(0)
                with m.Elif(quiet == self.frame_timeout):
                    m.d.sync += quiet.eq(0)
                    refuse(7)
                with m.Else():
                    m.d.sync += quiet.eq(quiet + 1)

            with m.State("KIND"):
                receiving()
                with m.If(rx_take):
                    m.d.sync += [kind.eq(byte), crc.eq(rx_crc), idx.eq(0),
                                 code.eq(0), got.eq(0)]
                    m.next = "LEN"
            with m.State("LEN"):
                receiving()
                with m.If(rx_take):
                    m.d.sync += [length.word_select(idx, 8).eq(byte), idx.eq(idx + 1),
                                 crc.eq(rx_crc), left.eq(Cat(length[:24], byte))]
                    with m.If(idx == 3):
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                receiving(left != 0)
                with m.If(left == 0):
                    m.d.sync += idx.eq(0)
                    m.next = "CRC"
                with m.Elif(rx_take):
                    m.d.sync += [left.eq(left - 1), crc.eq(rx_crc)]
                    with m.If(got != vbytes + 8):
                        m.d.sync += got.eq(got + 1)
                    with m.Switch(kind):
                        with m.Case(ord("C")):
                            with m.If(got < 8):
                                with m.Switch(got[:3]):
                                    for j in range(8):
                                        with m.Case(j):
                                            f = (planes.word_select(j, 8) if j < 4 else
                                                 height.word_select(j - 4, 8) if j < 6 else
                                                 width.word_select(j - 6, 8))
                                            m.d.sync += f.eq(byte)
                                with m.If(got == 7):
                                    blocks_reset()
                                    m.d.sync += vpos.eq(0)
                            with m.Else():
                                with m.If(got == vbytes + 8):
                                    m.d.sync += code.eq(4)
                                with m.Else():
                                    m.d.comb += vwrite.eq(1)
                                    m.d.sync += vpos.eq(vpos + 1)
                                    with m.If(seen_last):
                                        m.d.sync += code.eq(3)
                                    blocks_step()
                        with m.Case(ord("T")):
                            if self.lossy:
                                with m.If(got < 64):
                                    m.d.comb += [comp.table.en.eq(1), dec.table.en.eq(1),
                                                 comp.table.addr.eq(got), dec.table.addr.eq(got),
                                                 comp.table.data.eq(byte),
                                                 dec.table.data.eq(byte)]
            with m.State("CRC"):
                receiving()
                with m.If(rx_take):
                    m.d.sync += [crc_rx.word_select(idx[0], 8).eq(byte), idx.eq(idx + 1)]
                    with m.If(idx[0]):
                        m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += phase.eq(RECV)
                bad_shape = ((planes == 0) | (planes[24:] != 0) | (height == 0) | (width == 0))
                with m.If(crc_rx != crc):
                    refuse(1)

                def answer(size, k):
                    """Reply ``k`` to a request of ``size`` payload bytes."""
                    with m.If(length != size):
                        refuse(8)
                    with m.Else():
                        m.d.sync += self.leds[3].eq(0)
                        reply(k)
                        m.next = "SEND"

                with m.Elif(kind == ord("I")):
                    answer(0, "I")
                with m.Elif(kind == ord("T")):
                    if self.lossy:
                        answer(64, "K")
                    else:
                        refuse(9)
                with m.Elif(kind == ord("C")):
                    with m.If(length < 8):
                        refuse(8)
                    with m.Elif(bad_shape):
                        refuse(6)
                    with m.Elif(code == 4):
                        refuse(4)
                    with m.Elif((code == 3) | ~seen_last):
                        refuse(3)
                    with m.Else():
                        m.d.sync += [b_src.eq(VMEM), tiles.eq(0), tiles_expected.eq(0),
                                     words.eq(0), words_expected.eq(0), cycles_c.eq(0),
                                     self.leds[0].eq(1), self.leds[3].eq(0)]
                        blocks_reset()
                        # the fetch shows its first address now
                        m.d.comb += [fb.start.eq(1), fb.count.eq(vpos), phase.eq(COMP)]
                        m.next = "COMP"
                with m.Else():
                    refuse(2)
            with m.State("COMP"):
                m.d.comb += phase.eq(COMP)
                ci = comp.i
                m.d.comb += [ci.valid.eq(fb.o.valid), ci.payload.data.eq(fb.o.payload),
                             ci.payload.present.eq(present), ci.payload.last.eq(at_last),
                             fb.o.ready.eq(ci.ready), comp.o.ready.eq(1),
                             comp.lengths.ready.eq(1)]
                m.d.sync += cycles_c.eq(cycles_c + 1)
                with m.If(ci.valid & ci.ready):
                    blocks_step()
                    with m.If(tile_start):
                        m.d.sync += tiles_expected.eq(tiles_expected + 1)
                with m.If(comp.o.valid):
                    m.d.sync += words.eq(words + 1)
                with m.If(comp.lengths.valid):
                    tile_bytes = comp.lengths.payload[:len(words) + 2]
                    m.d.sync += [tiles.eq(tiles + 1),
                                 words_expected.eq(words_expected + ((tile_bytes + 3) >> 2))]
                # the tensor is in and every tile's length and words are out
                with m.If(~fb.busy & (tiles == tiles_expected)
                          & (words == words_expected) & ~comp.o.valid & ~comp.lengths.valid):
                    with m.If((words > self.data_words) | (tiles > self.index_entries)):
                        refuse(5)
                    with m.Else():
                        m.d.sync += after_send.eq(1)
                        reply("Z")
                        m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += phase.eq(SEND)
                with m.If(send_done):
                    with m.If(after_send):
                        m.d.sync += [after_send.eq(0), shape_valid.eq(1), vpos.eq(0),
                                     cycles_d.eq(0), dec_err.eq(0), dec_cause.eq(0),
                                     dec_tile.eq(0)]
                        m.d.comb += [fw.start.eq(1), fw.count.eq(words),
                                     fl.start.eq(1), fl.count.eq(tiles), phase.eq(DECOMP)]
                        m.next = "DECOMP"
                    with m.Else():
                        m.d.sync += self.leds[0].eq(0)
                        m.next = "HUNT"
            with m.State("DECOMP"):
                m.d.comb += phase.eq(DECOMP)
                m.d.sync += cycles_d.eq(cycles_d + 1)
                s = dec.shape
                # the whole tensor (first and count driven: an undriven
                # input port is X in Verilog simulation)
                m.d.comb += [s.valid.eq(shape_valid), s.payload.planes.eq(planes),
                             s.payload.height.eq(height), s.payload.width.eq(width),
                             s.payload.first.eq(0), s.payload.count.eq(0)]
                with m.If(s.ready):
                    m.d.sync += shape_valid.eq(0)
                wiring.connect(m, fw.o, dec.words)
                wiring.connect(m, fl.o, dec.lengths)
                m.d.comb += dec.o.ready.eq(1)
                with m.If(dec.error & ~dec_err):
                    m.d.sync += [dec_err.eq(1), dec_cause.eq(dec.cause),
                                 dec_tile.eq(dec.error_tile)]
                with m.If(dec.o.valid):
                    with m.If(dec.o.payload.present):
                        m.d.sync += vpos.eq(vpos + 1)
                    with m.If(dec.o.payload.last):
                        m.d.sync += [self.leds[1].eq(~dec_err & ~dec.error),
                                     self.leds[2].eq(dec_err | dec.error)]
                        reply("R")
                        m.next = "SEND"
        return m
