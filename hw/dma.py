"""The DRAM side: a compressor that writes its tiles and their index to
memory through an AXI4 master, and a decompressor that reads any range of
tiles back, each controlled through AXI4-Lite registers. The layout,
bursts and index format are :mod:`golden.dma`'s."""
from amaranth.hdl import Array, Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import LiteBridge, lite_signature, read_signature, write_signature
from .compressor import Compressor
from .decompressor import Decompressor
from .expgolomb import max_item_length
from .tiling import value_layout

REG_ADDR_WIDTH = 12
# register byte addresses (docs/hardware.md has the map)
CTRL, STATUS, DATA_BASE, INDEX_BASE, TILES, DATA_BYTES, BURSTS, VALUES, INFO = \
    0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20
STEPS = 0x100      # 64 step registers, one per raster position
START, SOFT_RESET = 1, 2                               # CTRL bits
BUSY, DONE, BUS_ERROR, INPUT_ERROR, STEP_ERROR = 1, 2, 4, 8, 64   # STATUS bits; BRESP in 5:4
INDEX_DEPTH = 32


def max_tile_words(config, dtype, word_width):
    """Words of the longest possible tile (every item at its longest, an
    end of block per block): the DMA buffers one such tile."""
    bits = config.tile_blocks * (64 * max_item_length(config, dtype) + 16)
    return -(-bits // word_width) + 1


class _Engine(wiring.Component):
    """What both DMA engines share: parameters, the register port and the
    status outputs, and the pieces below."""

    def __init__(self, config, dtype, word_width, lossy, addr_width, members):
        if word_width not in (32, 64):
            raise ValueError("word_width must be 32 or 64")
        self.config, self.dtype, self.word_width = config, dtype, word_width
        self.lossy, self.addr_width = lossy, addr_width
        super().__init__({**members, "ctl": In(lite_signature(REG_ADDR_WIDTH)),
                          "busy": Out(1), "done": Out(1)})

    def attach(self, m, core):
        """The register bridge on ``ctl`` and the codec ``core`` under the
        soft reset (CTRL bit 1, one cycle); returns (bridge, soft)."""
        soft = Signal()
        m.submodules.bridge = bridge = LiteBridge(REG_ADDR_WIDTH)
        wiring.connect(m, wiring.flipped(self.ctl), bridge.bus)
        m.submodules.core = ResetInserter(soft)(core)
        return bridge, soft

    def registers(self, m, bridge, soft, busy, reads, writes, table, step_error):
        """The register file on ``bridge``: ``reads`` (address to value),
        ``writes`` (address to (register, mask)), CTRL (returns the START
        strobe; drives ``soft``) and, when lossy, the step registers into
        ``table`` (steps outside 1..255 ignored and flagged)."""
        with m.Switch(bridge.r_addr):
            for addr, value in reads.items():
                with m.Case(addr):
                    m.d.comb += bridge.r_data.eq(value)
        start = Signal()
        with m.If(bridge.w_stb):
            with m.Switch(bridge.w_addr):
                with m.Case(CTRL):
                    m.d.comb += [start.eq(bridge.w_data[0] & ~busy & ~bridge.w_data[1]),
                                 soft.eq(bridge.w_data[1])]
                for addr, (reg, mask) in writes.items():
                    with m.Case(addr):
                        m.d.sync += reg.eq(bridge.w_data & mask)
        if self.lossy:
            is_step = (bridge.w_addr >= STEPS) & (bridge.w_addr < STEPS + 4 * 64)
            good = (bridge.w_data >= 1) & (bridge.w_data <= 255)
            m.d.comb += [table.addr.eq(bridge.w_addr[2:8]), table.data.eq(bridge.w_data),
                         table.en.eq(bridge.w_stb & is_step & good)]
            with m.If(bridge.w_stb & is_step & ~good):
                m.d.sync += step_error.eq(1)
        return start

    def info(self):
        """The INFO register."""
        return Cat(Const(self.word_width // 8, 8), Const(1, 8),
                   Const(self.config.tile_blocks, 16))


def burst_beats(m, addr, left, word_bytes):
    """Beats of the next INCR burst from ``addr`` with ``left`` words to
    go: at most 16, and not across a 4 KiB boundary."""
    to_page = Signal(range(4096 // word_bytes + 1))
    upto16, burst = Signal(5), Signal(5)
    m.d.comb += [to_page.eq((4096 - addr[:12]) >> (word_bytes.bit_length() - 1)),
                 upto16.eq(Mux(left < 16, left, 16)),
                 burst.eq(Mux(to_page < upto16, to_page, upto16))]
    return burst


def address_fields(m, mem, ch, addr, burst, word_bytes):
    """An AW or AR (``ch``) channel's address fields: ID 0, INCR, the word
    size, normal non-cacheable bufferable, unprivileged."""
    f = {n: getattr(mem, ch + n) for n in ("id", "addr", "len", "size", "burst", "cache",
                                           "prot")}
    m.d.comb += [f["id"].eq(0), f["addr"].eq(addr), f["len"].eq(burst - 1),
                 f["size"].eq(word_bytes.bit_length() - 1), f["burst"].eq(1),
                 f["cache"].eq(0b0011), f["prot"].eq(0)]


def keep_first_error(m, strobe, resp_in, bus_error, resp):
    """SLVERR or DECERR on a response sets ``bus_error`` and, the first
    time, records the response in ``resp``."""
    with m.If(strobe & (resp_in >= 2) & ~bus_error):
        m.d.sync += [bus_error.eq(1), resp.eq(resp_in)]


class CompressorDMA(_Engine):
    """The compressor writing DRAM: values in, tiles and their index out
    through an AXI4 master (write channels), started and watched through
    AXI4-Lite registers.

    Software writes ``DATA_BASE`` and ``INDEX_BASE`` (word aligned; the
    low bits are ignored), optionally the 64 step registers, then ``CTRL``
    = 1 (start). The DMA then takes values on ``i`` until the one with
    ``last``; the compressor's words of each tile are written from
    ``DATA_BASE`` in tile order, each tile padded to whole words, in INCR
    bursts of at most 16 beats that never cross 4 KiB, the tile's last
    word with byte strobes for its own bytes only; each tile's
    (offset, length) goes to the index at ``INDEX_BASE`` (8 bytes per
    tile). ``STATUS`` shows DONE once every write is answered, with the
    tile, byte, burst and value counts in their registers. SLVERR or
    DECERR on a write sets BUS_ERROR (the first response in STATUS bits
    5:4); the transfer still runs to its end. ``CTRL`` = 2 resets the
    engine and the compressor (not the registers), e.g. after an
    INPUT_ERROR (``last`` inside a block).

    Parameters
    ----------
    config : golden.config.Config
        The compressor's configuration (see :class:`hw.compressor.Compressor`).
    dtype : {"uint8", "int8"}
    word_width : {32, 64}
        AXI data width; the stream is aligned to it.
    lossy : bool
        With False, a lossless-only compressor (no step registers).
    addr_width : int
        AXI address width.

    Attributes
    ----------
    i : In(stream.Signature(hw.tiling.value_layout(dtype)))
        Values, as for the compressor; taken only while started.
    ctl : In(hw.axi.lite_signature(12))
        Registers.
    mem : Out(hw.axi.write_signature(addr_width, word_width))
        DRAM writes (IDs 0, INCR, ``awsize`` the word).
    busy, done : Out(1)
        STATUS bits, for an interrupt.

    Latency and throughput
    ----------------------
    The compressor's (one value per clock) while the memory takes the
    words: a burst of ``n`` beats costs ``n + 1`` cycles plus the memory's
    stalls, and a tile's words go out once its length is known, so the
    engine buffers one tile of the longest words
    (:func:`max_tile_words`) and the compressor stalls only when the
    memory is slower than the compressed stream.
    """

    def __init__(self, config, dtype="uint8", word_width=64, lossy=True, addr_width=32):
        super().__init__(config, dtype, word_width, lossy, addr_width, {
            "i": In(stream.Signature(value_layout(dtype))),
            "mem": Out(write_signature(addr_width, word_width)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, W, aw = self.config, self.word_width, self.addr_width
        nb = W // 8
        shift = nb.bit_length() - 1
        mem = self.mem
        core = Compressor(cfg, self.dtype, W, lossy=self.lossy)
        bridge, soft = self.attach(m, core)
        depth = max_tile_words(cfg, self.dtype, W)
        words = ResetInserter(soft)(fifo.SyncFIFOBuffered(width=W, depth=depth))
        m.submodules.words = words
        wiring.connect(m, core.o, words.w_stream)
        # a committed tile: its address, word count and bytes in the last word
        tile_words_width = depth.bit_length() + 1
        tiles_q = ResetInserter(soft)(fifo.SyncFIFOBuffered(
            width=aw + tile_words_width + shift + 1, depth=4))
        m.submodules.tiles_q = tiles_q
        index = ResetInserter(soft)(fifo.SyncFIFOBuffered(width=W, depth=INDEX_DEPTH))
        m.submodules.index = index

        # registers
        data_base, index_base = Signal(aw), Signal(aw)
        dbase = Signal(aw)      # DATA_BASE as it was at the start
        busy, done, bus_error, input_error, step_error = (Signal(name=n) for n in (
            "busy", "done", "bus_error", "input_error", "step_error"))
        resp = Signal(2)
        tiles, data_bytes, bursts, values, tiles_in = (Signal(32, name=n) for n in (
            "tiles", "data_bytes", "bursts", "values", "tiles_in"))
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        status = Cat(busy, done, bus_error, input_error, resp, step_error)
        reads = {STATUS: status, DATA_BASE: data_base, INDEX_BASE: index_base, TILES: tiles,
                 DATA_BYTES: data_bytes, BURSTS: bursts, VALUES: values, INFO: self.info()}
        writes = {DATA_BASE: (data_base, ~(nb - 1)), INDEX_BASE: (index_base, ~(nb - 1))}
        start = self.registers(m, bridge, soft, busy, reads, writes,
                               core.table if self.lossy else None, step_error)

        # values in while started; count tiles as they begin
        in_done = Signal()
        pos = Signal(range(64 * cfg.tile_blocks))
        taking = Signal()
        m.d.comb += [
            core.i.payload.eq(self.i.payload),
            core.i.valid.eq(self.i.valid & busy & ~in_done),
            self.i.ready.eq(core.i.ready & busy & ~in_done),
            taking.eq(self.i.valid & self.i.ready),
        ]
        with m.If(taking):
            m.d.sync += [values.eq(values + 1),
                         pos.eq(Mux(self.i.payload.last | (pos == 64 * cfg.tile_blocks - 1),
                                    0, pos + 1))]
            with m.If(pos == 0):
                m.d.sync += tiles_in.eq(tiles_in + 1)
            with m.If(self.i.payload.last):
                m.d.sync += in_done.eq(1)
        with m.If(core.error):
            m.d.sync += input_error.eq(1)

        # commit each tile as its length arrives: queue its writes and its
        # index entry (one word with 64-bit words, two with 32)
        offset = Signal(32)
        length = core.lengths.payload
        nwords = Signal(tile_words_width)
        m.d.comb += nwords.eq((length + nb - 1) >> shift)
        half = Signal()
        commit = Signal()
        room = core.lengths.valid & tiles_q.w_rdy & index.w_rdy
        m.d.comb += tiles_q.w_data.eq(Cat((dbase + offset)[:aw], nwords,
                                             length[:shift + 1] & (nb - 1)))
        if W == 64:
            m.d.comb += [commit.eq(room), index.w_data.eq(Cat(offset, length)),
                         index.w_en.eq(room)]
        else:
            m.d.comb += [commit.eq(room & half), index.w_data.eq(Mux(half, length, offset)),
                         index.w_en.eq(room)]
            with m.If(room):
                m.d.sync += half.eq(~half)
        m.d.comb += [core.lengths.ready.eq(commit), tiles_q.w_en.eq(commit)]
        with m.If(commit):
            m.d.sync += [offset.eq(offset + (nwords << shift)), tiles.eq(tiles + 1)]

        # the writer: one burst at a time, address then data
        addr = Signal(aw)
        left = Signal(tile_words_width)     # words of the tile (or index chunk) still to go
        tail = Signal(shift + 1)            # bytes in the tile's last word (0: all)
        beats = Signal(5)
        from_index = Signal()
        index_ptr = Signal(aw)
        outstanding = Signal(16)
        burst = burst_beats(m, addr, left, nb)
        chunk = burst_beats(m, index_ptr, 16, nb)     # a full index burst
        ended = Signal()   # every tile committed: the index tail may go
        m.d.comb += ended.eq(in_done & (tiles == tiles_in) & ~half)
        index_ready = Signal()
        m.d.comb += index_ready.eq((index.r_level >= chunk) | (ended & (index.r_level != 0)))
        last_word = ~from_index & (left == 1)
        full = Const((1 << nb) - 1, nb)
        address_fields(m, mem, "aw", addr, burst, nb)
        m.d.comb += [
            mem.wdata.eq(Mux(from_index, index.r_data, words.r_data)),
            mem.wstrb.eq(Mux(last_word & (tail != 0), (1 << tail) - 1, full)),
            mem.bready.eq(1),
        ]
        issued = Signal()
        with m.FSM(name="writer") as writer:
            with m.State("IDLE"):
                with m.If(busy & index_ready):
                    m.d.sync += [from_index.eq(1), addr.eq(index_ptr),
                                 left.eq(Mux(index.r_level < chunk, index.r_level, chunk))]
                    m.next = "ADDRESS"
                with m.Elif(busy & tiles_q.r_rdy):
                    m.d.comb += tiles_q.r_en.eq(1)
                    m.d.sync += [from_index.eq(0),
                                 Cat(addr, left, tail).eq(tiles_q.r_data)]
                    m.next = "ADDRESS"
            with m.State("ADDRESS"):
                m.d.comb += mem.awvalid.eq(1)
                with m.If(mem.awready):
                    m.d.comb += issued.eq(1)
                    m.d.sync += [beats.eq(burst), bursts.eq(bursts + 1)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [mem.wvalid.eq(Mux(from_index, index.r_rdy, words.r_rdy)),
                             mem.wlast.eq(beats == 1)]
                with m.If(mem.wvalid & mem.wready):
                    m.d.comb += [index.r_en.eq(from_index), words.r_en.eq(~from_index)]
                    m.d.sync += [beats.eq(beats - 1), left.eq(left - 1), addr.eq(addr + nb)]
                    with m.If(from_index):
                        m.d.sync += index_ptr.eq(index_ptr + nb)
                    with m.Else():
                        m.d.sync += data_bytes.eq(data_bytes + nb)
                    with m.If(beats == 1):
                        with m.If(left == 1):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "ADDRESS"
                with m.If(soft):   # abandons a burst: only with the memory side idle
                    m.next = "IDLE"

        # write responses: count them back, keep the first error
        with m.If(issued & ~mem.bvalid):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(mem.bvalid & ~issued):
            m.d.sync += outstanding.eq(outstanding - 1)
        keep_first_error(m, mem.bvalid, mem.bresp, bus_error, resp)

        finished = Signal()
        m.d.comb += finished.eq(busy & ended & ~tiles_q.r_rdy & (index.r_level == 0) &
                                writer.ongoing("IDLE") & (outstanding == 0) & ~issued)
        with m.If(finished):
            m.d.sync += [busy.eq(0), done.eq(1)]
        with m.If(start):
            m.d.sync += [busy.eq(1), done.eq(0), bus_error.eq(0), input_error.eq(0),
                         step_error.eq(0), resp.eq(0), tiles.eq(0), data_bytes.eq(0),
                         bursts.eq(0), values.eq(0), tiles_in.eq(0), in_done.eq(0), pos.eq(0),
                         offset.eq(0), dbase.eq(data_base), index_ptr.eq(index_base)]
        with m.If(soft):
            m.d.sync += [busy.eq(0), in_done.eq(0), pos.eq(0), half.eq(0), outstanding.eq(0)]
        return m


# DecompressorDMA registers beyond the shared ones
PLANES, HEIGHT, WIDTH, FIRST, COUNT, ERROR_TILE, ERROR_CAUSE = \
    0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C
DECODE_ERROR, INDEX_ERROR, RANGE_ERROR = 8, 128, 256   # STATUS bits (BUS_ERROR: a read)
READ_DEPTH = 32


class DecompressorDMA(_Engine):
    """The decompressor reading DRAM: a range of tiles of a compressed
    tensor (laid out by :class:`CompressorDMA`, see :mod:`golden.dma`)
    read through an AXI4 master (read channels) and decoded to values,
    started and watched through AXI4-Lite registers.

    Software writes ``DATA_BASE``, ``INDEX_BASE``, the tensor's
    ``PLANES`` (N * C), ``HEIGHT`` and ``WIDTH``, the range ``FIRST`` and
    ``COUNT`` (at least 1; a whole tensor is ``FIRST`` 0 and ``COUNT`` its
    tile count), optionally the steps, then ``CTRL`` = 1. The engine reads
    the range's index entries (8 bytes per tile) in bursts, then each
    tile's words from ``DATA_BASE`` + its offset, in INCR bursts of at
    most 16 beats that never cross 4 KiB, and the decompressor turns them
    into the tiles' values on ``o`` (``last`` on the range's last value).
    ``STATUS`` shows DONE when that value has left. SLVERR or DECERR on a
    read sets BUS_ERROR (bits 5:4 the first response); a damaged tile sets
    DECODE_ERROR (its tile number and cause in ``ERROR_TILE`` and
    ``ERROR_CAUSE``) and decoding goes on at the next tile; an index entry
    longer than a tile can be is read as an empty tile (INDEX_ERROR). A
    START with ``COUNT`` 0, or a range past the tensor's tiles, sets
    RANGE_ERROR and does not start.

    Parameters
    ----------
    config, dtype, word_width, lossy, addr_width
        As :class:`CompressorDMA`.

    Attributes
    ----------
    o : Out(stream.Signature(hw.tiling.value_layout(dtype)))
        Values of the range's tiles, in block order.
    ctl : In(hw.axi.lite_signature(12))
    mem : Out(hw.axi.read_signature(addr_width, word_width))
        DRAM reads (IDs 0, INCR, one burst outstanding; a burst is asked
        for only when its beats fit in the engine's buffer, so ``rready``
        stays high through it unless ``o`` is stalled for long).
    busy, done : Out(1)

    Latency and throughput
    ----------------------
    The decompressor's one value per clock, as long as the memory delivers
    a tile's words faster than they decode (a 16-beat burst carries about
    200 values at 5 bits per value). Each tile first costs an index read
    (shared by up to 16 tiles) and its burst latencies; ``FIRST`` costs
    one clock per block before it (the tile walker steps to it).
    """

    def __init__(self, config, dtype="uint8", word_width=64, lossy=True, addr_width=32):
        super().__init__(config, dtype, word_width, lossy, addr_width, {
            "o": Out(stream.Signature(value_layout(dtype))),
            "mem": Out(read_signature(addr_width, word_width)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, W, aw = self.config, self.word_width, self.addr_width
        nb = W // 8
        shift = nb.bit_length() - 1
        mem = self.mem
        core = Decompressor(cfg, self.dtype, W, lossy=self.lossy)
        bridge, soft = self.attach(m, core)
        words = ResetInserter(soft)(fifo.SyncFIFOBuffered(width=W, depth=READ_DEPTH))
        entries = ResetInserter(soft)(fifo.SyncFIFOBuffered(width=64, depth=READ_DEPTH))
        m.submodules.words, m.submodules.entries = words, entries
        wiring.connect(m, words.r_stream, core.words)
        wiring.connect(m, core.o, wiring.flipped(self.o))
        max_bytes = max_tile_words(cfg, self.dtype, W) * nb

        regs = {n: Signal(32, name=n.lower()) for n in (
            "DATA_BASE", "INDEX_BASE", "PLANES", "HEIGHT", "WIDTH", "FIRST", "COUNT")}
        busy, done, bus_error, decode_error, step_error, index_error, range_error = (
            Signal(name=n) for n in ("busy", "done", "bus_error", "decode_error",
                                     "step_error", "index_error", "range_error"))
        resp, cause = Signal(2), Signal(3)
        tiles, data_bytes, bursts, values, error_tile = (Signal(32, name=n) for n in (
            "tiles", "data_bytes", "bursts", "values", "error_tile"))
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        status = Cat(busy, done, bus_error, decode_error, resp, step_error, index_error,
                     range_error)
        reads = {STATUS: status, TILES: tiles, DATA_BYTES: data_bytes, BURSTS: bursts,
                 VALUES: values, INFO: self.info(), ERROR_TILE: error_tile, ERROR_CAUSE: cause,
                 **{globals()[n]: s for n, s in regs.items()}}
        writes = {globals()[n]: (s, 0xFFFFFFFF) for n, s in regs.items()}
        start = self.registers(m, bridge, soft, busy, reads, writes,
                               core.table if self.lossy else None, step_error)

        # the range must lie in the tensor: tiles = ceil(blocks / tile_blocks)
        # (first + count - 1) * tile_blocks < blocks, without a divider
        blocks = Signal(56)
        m.d.comb += blocks.eq(regs["PLANES"][:24] * ((regs["HEIGHT"][:16] + 7) >> 3) *
                              ((regs["WIDTH"][:16] + 7) >> 3))
        last_tile = Signal(33)
        m.d.comb += last_tile.eq(regs["FIRST"] + regs["COUNT"] - 1)
        bad_range = (regs["COUNT"] == 0) | (last_tile * cfg.tile_blocks >= blocks) | \
            (regs["PLANES"][24:] != 0) | (regs["HEIGHT"][16:] != 0) | (regs["WIDTH"][16:] != 0)

        # the shape item, offered once per start
        shape_pending = Signal()
        m.d.comb += [core.shape.valid.eq(shape_pending),
                     core.shape.payload.planes.eq(regs["PLANES"]),
                     core.shape.payload.height.eq(regs["HEIGHT"]),
                     core.shape.payload.width.eq(regs["WIDTH"]),
                     core.shape.payload.first.eq(regs["FIRST"]),
                     core.shape.payload.count.eq(regs["COUNT"])]
        with m.If(core.shape.ready):
            m.d.sync += shape_pending.eq(0)

        # values out: count them, DONE after the range's last
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += values.eq(values + 1)
            with m.If(self.o.payload.last & busy):
                m.d.sync += [busy.eq(0), done.eq(1)]
        with m.If(core.error & ~decode_error):
            m.d.sync += [decode_error.eq(1), error_tile.eq(core.error_tile),
                         cause.eq(core.cause)]

        # the reader: index chunks, then each entry's words; one burst at a time
        addr = Signal(aw)
        left = Signal(32)          # beats of the current region still to ask for
        beats = Signal(5)          # beats of the current burst still to come
        index_ptr, index_left = Signal(aw), Signal(32)    # index beats still to read
        dbase = Signal(aw)
        burst = burst_beats(m, addr, left, nb)
        from_index = Signal()
        wleft = Signal(32)                   # words of the tile still to arrive
        tail = Signal(shift + 1)             # bytes in the tile's last word (0: all)
        masks = Array(Const((1 << 8 * b) - 1 if b else (1 << W) - 1, W) for b in range(nb + 1))
        half, low = Signal(), Signal(32)     # 32-bit words: an entry is two beats
        entry_off, entry_len = entries.r_data[:32], entries.r_data[32:]
        length = Signal(32)
        m.d.comb += length.eq(Mux(entry_len > max_bytes, 0, entry_len))
        address_fields(m, mem, "ar", addr, burst, nb)
        m.d.comb += [
            core.lengths.payload.eq(length),
            # the writer's strobes left the bytes after the tile's end in
            # its last word as DRAM had them: zero them for the decoder
            words.w_data.eq(Mux((wleft == 1) & (tail != 0), mem.rdata & masks[tail], mem.rdata)),
        ]
        if W == 64:
            m.d.comb += entries.w_data.eq(mem.rdata)
        else:
            m.d.comb += entries.w_data.eq(Cat(low, mem.rdata))
        with m.FSM(name="reader"):
            with m.State("IDLE"):
                with m.If(busy & entries.r_rdy):
                    m.next = "LENGTH"
                with m.Elif(busy & (index_left != 0) & (entries.w_level == 0)):
                    m.d.sync += [from_index.eq(1), addr.eq(index_ptr),
                                 left.eq(Mux(index_left < 16, index_left, 16))]
                    m.next = "ADDRESS"
            with m.State("LENGTH"):
                # the tile's length to the decompressor, then its words
                m.d.comb += core.lengths.valid.eq(1)
                with m.If(core.lengths.ready):
                    m.d.comb += entries.r_en.eq(1)
                    m.d.sync += [from_index.eq(0), addr.eq((dbase + entry_off)[:aw]),
                                 left.eq((length + nb - 1) >> shift),
                                 wleft.eq((length + nb - 1) >> shift),
                                 tail.eq(length[:shift]), tiles.eq(tiles + 1)]
                    with m.If(entry_len > max_bytes):
                        m.d.sync += index_error.eq(1)
                    with m.If(length == 0):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "ADDRESS"
            with m.State("ADDRESS"):
                room = Mux(from_index, entries.w_level, words.w_level) + burst <= READ_DEPTH
                if W == 32:
                    room = Mux(from_index, (entries.w_level + (burst >> 1) + 1) <= READ_DEPTH,
                               room)
                m.d.comb += mem.arvalid.eq(room)
                with m.If(mem.arvalid & mem.arready):
                    m.d.sync += [beats.eq(burst), bursts.eq(bursts + 1),
                                 left.eq(left - burst), addr.eq(addr + (burst << shift))]
                    with m.If(from_index):
                        m.d.sync += [index_left.eq(index_left - burst),
                                     index_ptr.eq(index_ptr + (burst << shift))]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += mem.rready.eq(Mux(from_index, entries.w_rdy, words.w_rdy))
                with m.If(mem.rvalid & mem.rready):
                    if W == 64:
                        m.d.comb += entries.w_en.eq(from_index)
                    else:
                        m.d.comb += entries.w_en.eq(from_index & half)
                        with m.If(from_index):
                            m.d.sync += [half.eq(~half), low.eq(mem.rdata)]
                    m.d.comb += words.w_en.eq(~from_index)
                    with m.If(~from_index):
                        m.d.sync += [data_bytes.eq(data_bytes + nb), wleft.eq(wleft - 1)]
                    keep_first_error(m, 1, mem.rresp, bus_error, resp)
                    m.d.sync += beats.eq(beats - 1)
                    with m.If(beats == 1):
                        with m.If(left == 0):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "ADDRESS"
                with m.If(soft):
                    m.next = "IDLE"

        with m.If(start):
            with m.If(bad_range):
                m.d.sync += [range_error.eq(1), done.eq(0)]
            with m.Else():
                m.d.sync += [busy.eq(1), done.eq(0), bus_error.eq(0), decode_error.eq(0),
                             index_error.eq(0), range_error.eq(0), step_error.eq(0),
                             resp.eq(0), cause.eq(0), error_tile.eq(0), tiles.eq(0),
                             data_bytes.eq(0), bursts.eq(0), values.eq(0), half.eq(0),
                             shape_pending.eq(1), dbase.eq(regs["DATA_BASE"] & ~(nb - 1)),
                             index_ptr.eq((regs["INDEX_BASE"] & ~(nb - 1)) +
                                          (regs["FIRST"] << 3)),
                             index_left.eq(regs["COUNT"] << (3 - shift))]
        with m.If(soft):
            m.d.sync += [busy.eq(0), shape_pending.eq(0), index_left.eq(0), half.eq(0)]
        return m
