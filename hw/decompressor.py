"""The decompressor top: stream words and tile lengths in, activations out."""
from amaranth import Cat, Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from golden import codec, scan
from golden import dct as gdct

from .bitpack import BitUnpacker
from .compressor import CodecTop, fan_out_table, forward
from .dct import Transform1D
from .expgolomb import ExpGolombDecoder, TileRequest, tile_inputs
from .interleaved import InterleavedLane, supported
from .lanes import Gather, Merge, hold, row_layout, serialize, skid
from .quantizer import Dequantizer, TableSignature, clamp
from .scan import COLUMN, RASTER, Reorder
from .tiling import PlaceLayout, ShapeLayout, TileWalker, value_layout

PLACE_DEPTH = 4  # tile places queued per lane (room for three checked a clock late)


def join(m, length, place, dst):
    """Pair a tile's length with its place for a decoder's ``tiles``."""
    both = length.valid & place.valid
    m.d.comb += [
        dst.valid.eq(both),
        dst.payload.length.eq(length.payload), dst.payload.place.eq(place.payload),
        length.ready.eq(dst.ready & both), place.ready.eq(dst.ready & both),
    ]


class DecoderLane(wiring.Component):
    """One lane of the decompressor: a BitUnpacker, an ExpGolombDecoder and
    the inverse transform, decoding whole tiles at one value per clock.

    Parameters are those of :class:`Decompressor` (without lanes), and
    ``walk`` (:class:`hw.expgolomb.ExpGolombDecoder`'s: whole tensors, the
    lane walks their tiles itself).

    Attributes
    ----------
    words : In(stream.Signature(word_width))
    tiles : In(stream.Signature(hw.expgolomb.TileRequest))
        Each tile's length and place, before its words are needed
        (without ``walk``).
    shape, lengths : In
        With ``walk``: the tensor's shape and each tile's length.
    o : Out(stream.Signature(hw.tiling.value_layout(dtype)))
    error, cause, error_tile : Out
        As :class:`Decompressor`.
    table : In(hw.quantizer.TableSignature)
        Only when ``lossy``.
    """

    def __init__(self, config, dtype, word_width, lossy, walk=False):
        self.config, self.dtype, self.word_width, self.lossy = config, dtype, word_width, lossy
        self.walk = walk
        members = {
            "words": In(stream.Signature(word_width)),
            "o": Out(stream.Signature(value_layout(dtype))),
            "error": Out(1),
            "cause": Out(3),
            "error_tile": Out(32),
        }
        members.update(tile_inputs(walk))
        if lossy:
            members["table"] = In(TableSignature)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg, dtype = self.config, self.dtype
        width = codec.coef_width(cfg.transform, dtype)
        pred = cfg.transform == "pred"
        m.submodules.decoder = dec = ExpGolombDecoder(cfg, dtype, width, self.word_width,
                                                      self.lossy, self.walk)
        m.submodules.unpacker = unpacker = BitUnpacker(self.word_width, dec.window)
        wiring.connect(m, wiring.flipped(self.words), unpacker.words)
        wiring.connect(m, unpacker.o, dec.bits)
        if self.walk:
            wiring.connect(m, wiring.flipped(self.shape), dec.shape)
            wiring.connect(m, wiring.flipped(self.lengths), dec.lengths)
        else:
            wiring.connect(m, wiring.flipped(self.tiles), dec.tiles)
        m.d.comb += [self.error.eq(dec.error), self.cause.eq(dec.cause),
                     self.error_tile.eq(dec.error_tile)]
        if pred:
            if self.lossy:
                wiring.connect(m, wiring.flipped(self.table), dec.table)
            self._output(m, dec.o)
            return m
        m.submodules.dequantizer = deq = Dequantizer(width, cfg.qtable, self.lossy)
        wiring.connect(m, dec.o, deq.i)
        if self.lossy:
            wiring.connect(m, wiring.flipped(self.table), deq.table)
        order = scan.order(cfg.scan)
        src = deq.o
        if cfg.transform == "none" and cfg.scan == "raster":
            self._output(m, src)
            return m
        peak = gdct.widths(cfg.transform, dtype)["inverse_peak"]
        read = COLUMN if cfg.transform == "dct2d" else RASTER
        m.submodules.unscan = unscan = Reorder(width, order, read)
        forward(m, src, unscan.i, value="value", present="present", first="first", last="last")
        src = unscan.o
        if cfg.transform == "dct2d":
            m.submodules.columns = columns = Transform1D(width, peak, inverse=True)
            forward(m, src, columns.i, value="value", present="present", first="first",
                    last="last")
            m.submodules.transpose = transpose = Reorder(peak, COLUMN, RASTER)
            wiring.connect(m, columns.o, transpose.i)
            src, width = transpose.o, peak
        if cfg.transform != "none":
            m.submodules.rows = rows = Transform1D(width, peak, inverse=True)
            forward(m, src, rows.i, value="value", present="present", first="first",
                    last="last")
            src = rows.o
        self._output(m, src)
        return m

    def _output(self, m, src):
        """Clamp to the element range and drop the framing."""
        lo, hi = gdct.input_range(self.dtype)
        v = src.payload.value
        m.d.comb += [
            self.o.valid.eq(src.valid), src.ready.eq(self.o.ready),
            self.o.payload.data.eq(clamp(v, lo, hi)),
            self.o.payload.present.eq(src.payload.present),
            self.o.payload.last.eq(src.payload.last),
        ]


class Decompressor(CodecTop):
    """Decompresses the golden raw stream back into activations.

    Fed the words of ``python -m golden encode --raw`` (with ``align =
    word_width // 8``) and the tile lengths (the ``lengths`` stream of a
    :class:`hw.compressor.Compressor`, or the differences of the
    container's tile offsets), it outputs the golden reconstruction
    (:func:`golden.codec.reconstruct`), every position of every padded
    block in the golden block order, the compressor's input order.

    With 8 lanes, lane ``l`` decodes tiles ``l, l + 8, ...`` of every
    tensor from its own words and lengths (what lane ``l`` of an 8-lane
    :class:`hw.compressor.Compressor` wrote), and the values leave as
    block rows, 8 per beat, in tile order (:mod:`hw.lanes`).

    Parameters
    ----------
    config : golden.config.Config
        Fixed at elaboration, except the step table, loadable at run time
        through ``table`` (``config.qtable`` is its reset value).
    dtype : {"uint8", "int8"}
    word_width : {32, 64}
    lanes : {1, 8}
        Values per output beat, and decoders side by side.
    lossy : bool
        With False, a lossless-only build (``config.qtable`` all ones): no
        step table and no dequantizer.
    ranges : bool
        With False, ``shape``'s ``first`` and ``count`` are ignored (whole
        tensors only). With one lane the decoder then walks each tensor's
        tiles itself (no :class:`hw.tiling.TileWalker`: about 400 fewer
        iCE40 logic cells); with 8 lanes the walker deals the tiles.
    interleaved : bool
        Each lane an :class:`hw.interleaved.InterleavedLane` (eight tiles
        in flight per lane, its loop cut into eight stages: a clock about
        4.6 times higher on ECP5) instead of a one-tile decoder. The
        default configuration only (:func:`hw.interleaved.supported`), a
        lossless-only build (``lossy=False``), and per lane about 6,800
        ECP5 TRELLIS_COMB and 16 block RAMs with 32-bit words (24 with
        64-bit: use 32, a slot takes a word per turn); it does not fit the
        iCE40 UP5K. With one lane, ``ranges`` as above.

    Attributes
    ----------
    words : In(stream.Signature(word_width)) (an array of 8 with 8 lanes)
        Stream words in AXI byte order.
    lengths : In(stream.Signature(32)) (an array of 8 with 8 lanes)
        Tile lengths in bytes, one per tile, before the tile's words are
        needed.
    shape : In(stream.Signature(hw.tiling.ShapeLayout))
        One item per tensor: ``planes`` (N * C), ``height``, ``width``,
        and a tile range: ``count`` tiles from tile ``first`` (``count``
        0: to the end), whose words and lengths alone follow (random
        access to a tile; the range's last value has ``last``). With 8
        lanes, ``first`` and ``count`` are ignored (whole tensors).
    o : Out(stream.Signature(hw.tiling.value_layout(dtype)))
        (``hw.lanes.row_layout(dtype)`` with 8 lanes.) Reconstructed
        values; ``present`` is 0 on the block padding outside the tensor
        (whose values are to be dropped), ``last`` marks the tensor's last
        value (row).
    error, cause, error_tile : Out
        A tile failed (one-cycle strobe), why (:data:`golden.codec.ERRORS`)
        and which tile of the tensor; see
        :class:`hw.expgolomb.ExpGolombDecoder`. The failed tile's values
        after the error are those of zero levels. With 8 lanes, one per
        lane: ``error`` has a bit per lane, ``cause`` and ``error_tile``
        are arrays.
    table : In(hw.quantizer.TableSignature)
        Only when ``lossy``; takes effect at the next tile.

    Latency and throughput
    ----------------------
    At least one value per clock per lane with no back-pressure, in every
    mode, when each lane's words arrive at its pace (see
    ``docs/performance.md`` for measured cycles per value and latency).
    """

    def __init__(self, config, dtype="uint8", word_width=32, lanes=1, lossy=True, ranges=True,
                 interleaved=False):
        self.interleaved = interleaved
        if interleaved and (lossy or not supported(config)):
            setattr(self, "_MustUse__silence", True)
            raise ValueError("the interleaved decompressor is a lossless-only build "
                             "(lossy=False) of the default configuration (pred, context "
                             "orders, flat runs)")
        self.ranges = ranges and lanes == 1
        if lanes == 1:
            members = {
                "words": In(stream.Signature(word_width)),
                "lengths": In(stream.Signature(32)),
                "o": Out(stream.Signature(value_layout(dtype))),
                "cause": Out(3),
                "error_tile": Out(32),
            }
        else:
            members = {
                "words": In(stream.Signature(word_width)).array(lanes),
                "lengths": In(stream.Signature(32)).array(lanes),
                "o": Out(stream.Signature(row_layout(dtype))),
                "cause": Out(data.ArrayLayout(3, lanes)),
                "error_tile": Out(data.ArrayLayout(32, lanes)),
            }
        members.update({"shape": In(stream.Signature(ShapeLayout)), "error": Out(lanes)})
        super().__init__(config, dtype, word_width, lanes, lossy, members)

    def elaborate(self, platform):
        m = Module()
        cfg, lanes = self.config, self.lanes
        if self.interleaved:
            return self._interleaved(m)
        # one lane on whole tensors: the decoder walks the tiles itself
        walk = lanes == 1 and not self.ranges
        if not walk:
            m.submodules.walker = walker = TileWalker(cfg.tile_blocks, self.ranges)
        if lanes == 1 and not walk:
            wiring.connect(m, wiring.flipped(self.shape), walker.i)
        elif lanes > 1:
            self._whole_tensors(m, walker)
        cores = []
        for n in range(lanes):
            core = DecoderLane(cfg, self.dtype, self.word_width, self.lossy, walk)
            m.submodules[f"lane{n}" if lanes > 1 else "lane"] = core
            cores.append(core)
        if lanes == 1:
            core = cores[0]
            if walk:
                wiring.connect(m, wiring.flipped(self.shape), core.shape)
                wiring.connect(m, wiring.flipped(self.lengths), core.lengths)
            else:
                join(m, self.lengths, walker.o, core.tiles)
            wiring.connect(m, wiring.flipped(self.words), core.words)
            wiring.connect(m, core.o, wiring.flipped(self.o))
            self._errors(m, cores)
        else:
            self._deal_places(m, walker, cores)
            self._errors(m, cores)
            for n, core in enumerate(cores):
                wiring.connect(m, wiring.flipped(self.words[n]), core.words)
            m.submodules.gather = gather = Gather(self.dtype, cfg.tile_blocks, lanes)
            for n, core in enumerate(cores):
                wiring.connect(m, core.o, gather.i[n])
            wiring.connect(m, gather.o, wiring.flipped(self.o))
        if self.lossy:
            fan_out_table(m, self.table, [c.table for c in cores])
        return m

    def _whole_tensors(self, m, walker, shape=None):
        """The shapes (``shape``, default the port) into the walker without
        their tile ranges (lanes are dealt tiles from tile 0: whole tensors
        only)."""
        shape = self.shape if shape is None else shape
        m.d.comb += [walker.i.valid.eq(shape.valid), shape.ready.eq(walker.i.ready),
                     walker.i.payload.planes.eq(shape.payload.planes),
                     walker.i.payload.height.eq(shape.payload.height),
                     walker.i.payload.width.eq(shape.payload.width)]

    def _errors(self, m, cores):
        """The lanes' error strobes, causes and tiles to the ports (one
        lane: the signals; eight: a bit and an element per lane)."""
        if self.lanes == 1:
            m.d.comb += [self.error.eq(cores[0].error), self.cause.eq(cores[0].cause),
                         self.error_tile.eq(cores[0].error_tile)]
            return
        for n, core in enumerate(cores):
            m.d.comb += [self.error[n].eq(core.error), self.cause[n].eq(core.cause),
                         self.error_tile[n].eq(core.error_tile)]

    def _deal_places(self, m, walker, cores):
        """Each tile's place to its lane (tile ``t`` to lane ``t mod
        lanes``) in a short queue, joined with the lane's lengths.

        As :class:`hw.lanes.Spread` deals rows: the walker's place passes
        a register slice, the place taken waits a clock in one register,
        and each lane's queue is written from its own flip-flop (the
        queues sit by their lanes across the device: neither the walker's
        choice of lane nor its handshake reaches them in the same clock).
        A place is taken while every lane's queue had room for three a
        clock ago: one lane's full queue holds back the others' next
        places, which the lanes' tile order does anyway a few tiles
        later. With eight lanes each lane's length passes a register
        slice before the join; the joined length and place pass a register
        (:func:`hw.lanes.hold`) before the lane, with one lane or eight."""
        lb = exact_log2(self.lanes)
        # the walker's places through a register slice first: its state
        # machine's enables do not wait for the lanes' rooms
        src = stream.Signature(PlaceLayout).create(path=("walked",))
        skid(m, "walked", walker.o, src)
        take = src.valid & src.ready
        place_in = Signal(PlaceLayout, name="place_in")
        with m.If(take):
            m.d.sync += place_in.eq(src.payload)
        # the slice's ready is one flip-flop, every lane's room (a choice
        # among the rooms by the place's lane fanned out into the
        # slice's enables)
        rooms = []
        for n, core in enumerate(cores):
            q = fifo.SyncFIFOBuffered(width=PlaceLayout.size, depth=PLACE_DEPTH)
            m.submodules[f"places{n}"] = q
            here = src.payload.tile[:lb] == n
            write = Signal(name=f"place_write{n}")
            # room at t from the level at t - 1: the writes of t - 1, t
            # and t + 1 (takes at t - 2, t - 1, t) still fit
            m.d.sync += write.eq(take & here)
            rooms.append(q.level < PLACE_DEPTH - 2)
            m.d.comb += [q.w_en.eq(write), q.w_data.eq(place_in)]
            place = stream.Signature(PlaceLayout).create(path=(f"place{n}",))
            m.d.comb += [place.valid.eq(q.r_rdy), place.payload.eq(q.r_data),
                         q.r_en.eq(place.ready)]
            if self.lanes == 1:
                held = self.lengths
            else:
                # eight lanes: the length through a register slice, so the
                # pair's handshake starts from flip-flops by the queue (the
                # input's valid, from wherever the lane's lengths come, was
                # the path: 7.6 ns)
                held = stream.Signature(32).create(path=(f"length{n}",))
                skid(m, f"length{n}", self.lengths[n], held)
            tiles = stream.Signature(TileRequest).create(path=(f"tiles{n}",))
            join(m, held, place, tiles)
            # the pair to the lane through one register that loads only
            # while empty, so the lane's dealer (its ready a flip-flop, but
            # across the device) reaches neither the place queue's read
            # (one lane's path, 6.8 ns) nor the pair's ~100 enables (eight
            # lanes' with a register slice, 8.6 ns): a request every other
            # clock, as the dealer takes them
            hold(m, f"tiles{n}", tiles, core.tiles)
        room = Signal(name="place_room")
        m.d.sync += room.eq(Cat(rooms).all())
        m.d.comb += src.ready.eq(room)

    def _interleaved(self, m):
        """Lanes of :class:`hw.interleaved.InterleavedLane`, rows merged
        back into tile order (serialized again with one lane)."""
        cfg, lanes = self.config, self.lanes
        m.submodules.walker = walker = TileWalker(cfg.tile_blocks, self.ranges and lanes == 1)
        # the shapes through a register slice: the walker loads its place
        # from flip-flops beside it
        shape = stream.Signature(ShapeLayout).create(path=("shape_in",))
        skid(m, "shape_in", self.shape, shape)
        if lanes == 1:
            wiring.connect(m, shape, walker.i)
        else:
            self._whole_tensors(m, walker, shape)
        cores = []
        for n in range(lanes):
            core = InterleavedLane(cfg, self.dtype, self.word_width)
            m.submodules[f"lane{n}"] = core
            cores.append(core)
            words = self.words if lanes == 1 else self.words[n]
            wiring.connect(m, wiring.flipped(words), core.words)
        self._deal_places(m, walker, cores)
        self._errors(m, cores)
        if lanes == 1:
            # one row in eight clocks: serialize it
            src = cores[0].o
            m.d.comb += src.ready.eq(serialize(m, src.valid, src.payload, self.o, "col"))
            return m
        m.submodules.merge = merge = Merge(self.dtype, cfg.tile_blocks, lanes)
        for n, core in enumerate(cores):
            # (the merge's register slices take the rows by it: its choice
            # among the lanes starts at flip-flops, not at the lanes' FIFOs
            # across the device)
            wiring.connect(m, core.o, merge.i[n])
        wiring.connect(m, merge.o, wiring.flipped(self.o))
        return m


