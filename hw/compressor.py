"""The compressor top: activations in, stream words and tile lengths out."""
from amaranth import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from golden import codec, scan
from golden import dct as gdct

from .bitpack import BitPacker
from .lanes import Spread, queue, row_layout, skid
from .dct import Transform1D, sample_layout
from .scan import COLUMN, RASTER, Reorder
from .expgolomb import ExpGolombEncoder, max_item_length
from .predict import Predictor, on_ice40
from .quantizer import Quantizer, TableSignature
from .tiling import Tiler, value_layout


# tile lengths buffered on the way out: 16 in block RAM (yosys maps a
# FIFO this deep there; at 4 its storage took 36 flip-flops) and the output register
LENGTH_DEPTH = 17


def forward(m, src, dst, **fields):
    """Connect stream ``src`` to ``dst`` whose payloads differ: each
    ``dst_field=src_field`` is copied (widths and signedness convert)."""
    m.d.comb += [dst.valid.eq(src.valid), src.ready.eq(dst.ready)]
    m.d.comb += [getattr(dst.payload, d).eq(getattr(src.payload, s)) for d, s in fields.items()]


def fan_out_table(m, src, dsts):
    """Drive the step-table ports ``dsts`` from the top's ``src``."""
    for d in dsts:
        m.d.comb += [d.addr.eq(src.addr), d.data.eq(src.data), d.en.eq(src.en)]


def lossy_build(config, lossy):
    """Whether a top asked for ``lossy`` builds the step table: ``pred``'s
    run mode is lossless only (:class:`golden.config.Config`)."""
    return lossy and not config.flat_runs


class CodecTop(wiring.Component):
    """What the compressor and decompressor tops share: their parameters
    (checked here) and the step-table port of a lossy build."""

    def __init__(self, config, dtype, word_width, lanes, lossy, members):
        if lanes not in (1, 8):
            setattr(self, "_MustUse__silence", True)
            raise ValueError(f"lanes must be 1 or 8, got {lanes!r}")
        self.config = config.replace(align=word_width // 8)
        self.dtype = dtype
        self.word_width = word_width
        self.lanes = lanes
        self.lossy = lossy_build(config, lossy)
        if not lossy and not config.lossless:
            setattr(self, "_MustUse__silence", True)  # no "unused" warning for a refused build
            raise ValueError(f"a lossless-only {type(self).__name__.lower()} needs a step "
                             "table of ones")
        if lossy:
            members["table"] = In(TableSignature)
        super().__init__(members)


class Compressor(CodecTop):
    """Compresses a stream of activations into the golden raw stream.

    The words on ``o`` are the bytes of ``python -m golden encode --raw``
    for the same configuration and tensor (stream byte ``i`` of a word in
    bits ``8 i + 7 .. 8 i``), with ``align = word_width // 8``; ``lengths``
    gives each tile's length in bytes, from which the container's tile
    offsets follow.

    Parameters
    ----------
    config : golden.config.Config
        Fixed at elaboration, except the step table, which is loadable at
        run time through ``table`` (``config.qtable`` is its reset value).
        ``config.align`` is ignored: the word width sets it.
    dtype : {"uint8", "int8"}
        Element type of the activations.
    word_width : {32, 64}
    lanes : {1, 8}
        Values per input beat. With 8, a beat is a block row and lane
        ``l`` (a whole 1-lane core) codes tiles ``l, l + 8, ...`` of every
        tensor (:mod:`hw.lanes`), writing its own words and lengths.
    lossy : bool
        With False, a lossless-only build (``config.qtable`` all ones): no
        step table, no quantizer, no ``table`` port, and no prediction loop
        for ``pred``, so a much faster clock. Ignored (False) for ``pred``'s
        run mode, which is lossless only.

    Attributes
    ----------
    i : In(stream.Signature(hw.tiling.value_layout(dtype)))
        Values in the golden block order (see :func:`hw.tiling.value_layout`);
        with 8 lanes, rows of a block (:func:`hw.lanes.row_layout`).
    o : Out(stream.Signature(word_width)) (an array of 8 with 8 lanes)
        The stream words of the tiles (of the lane's tiles with 8 lanes).
    lengths : Out(stream.Signature(32)) (an array of 8 with 8 lanes)
        Tile lengths in bytes, through a 17-entry FIFO (and, off the
        iCE40, a two-entry register slice before it): a consumer may lag
        by at least 17 tiles before the words stall.
    table : In(hw.quantizer.TableSignature)
        Step-table writes; they take effect at the next tile (only when
        ``lossy``); with 8 lanes, at each lane's next tile, so write
        between tensors for a change at a tensor boundary.
    error : Out(1)
        ``last`` arrived inside a block (sticky until reset).

    Latency and throughput
    ----------------------
    One value per clock per lane with no back-pressure, in every mode the
    pipeline implements (with 8 lanes each lane buffers one tile of
    rows); see ``docs/performance.md`` for the measured cycles per value
    and the latency to the first word.
    """

    def __init__(self, config, dtype="uint8", word_width=32, lanes=1, lossy=True):
        if lanes == 1:
            members = {
                "i": In(stream.Signature(value_layout(dtype))),
                "o": Out(stream.Signature(word_width)),
                "lengths": Out(stream.Signature(32)),
            }
        else:
            members = {
                "i": In(stream.Signature(row_layout(dtype))),
                "o": Out(stream.Signature(word_width)).array(lanes),
                "lengths": Out(stream.Signature(32)).array(lanes),
            }
        members["error"] = Out(1)
        super().__init__(config, dtype, word_width, lanes, lossy, members)

    def elaborate(self, platform):
        if self.lanes > 1:
            return self._lanes()
        m = Module()
        cfg, dtype = self.config, self.dtype
        width = codec.coef_width(cfg.transform, dtype)
        m.submodules.tiler = tiler = Tiler(dtype, cfg.tile_blocks)
        m.submodules.encoder = encoder = ExpGolombEncoder(cfg, dtype, width)
        # every value gives one item: a tile holds at most this many bits
        item_bits = max_item_length(cfg, dtype)
        tile_bits = cfg.tile_blocks * 64 * item_bits
        ice40 = on_ice40(platform)
        # (off the iCE40, a slice inside the packer too: its input's ready
        # would follow its word count)
        m.submodules.packer = packer = BitPacker(item_bits, self.word_width, tile_bits,
                                                 sliced=not ice40)
        wiring.connect(m, wiring.flipped(self.i), tiler.i)
        m.d.comb += self.error.eq(tiler.error)
        if cfg.transform == "pred":
            m.submodules.predictor = front = Predictor(dtype, cfg.rounding, cfg.qtable, self.lossy)
            wiring.connect(m, tiler.o, front.i)
        else:
            m.submodules.quantizer = front = Quantizer(width, cfg.rounding, cfg.qtable, self.lossy)
            self._transform(m, tiler.o, front.i, width)
        if self.lossy:
            wiring.connect(m, wiring.flipped(self.table), front.table)
        if ice40:
            # on the iCE40 other paths set the clock and logic cells are few
            wiring.connect(m, front.o, encoder.i)
            wiring.connect(m, encoder.o, packer.i)
        else:
            # register slices cut the ready chain: the encoder's ready (it
            # waits for a run's next level) would reach every register of
            # the predictor, the packer's every stage of the encoder
            skid(m, "levels", front.o, encoder.i)
            skid(m, "codewords", encoder.o, packer.i)
        wiring.connect(m, packer.o, wiring.flipped(self.o))
        # a few tiles of slack for a slow consumer of the lengths: the packer
        # holds a tile's last codeword until its previous length is taken
        # (as wide as the longest tile's length in bytes)
        length_width = ceil_log2(-(-tile_bits // 8) + 1)
        lengths = packer.lengths
        if not ice40:
            # the FIFO's room is a test of its level: a register slice keeps
            # it out of the packer's and encoder's advance
            lengths = stream.Signature(length_width).create(path=("length_slice",))
            skid(m, "length_slice", packer.lengths, lengths)
        queue(m, "length_fifo", lengths, self.lengths, LENGTH_DEPTH, length_width)
        return m

    def _lanes(self):
        m = Module()
        cfg = self.config
        m.submodules.spread = spread = Spread(self.dtype, cfg.tile_blocks, self.lanes)
        wiring.connect(m, wiring.flipped(self.i), spread.i)
        cores = []
        for n in range(self.lanes):
            m.submodules[f"lane{n}"] = core = Compressor(cfg, self.dtype, self.word_width, 1,
                                                         self.lossy)
            wiring.connect(m, spread.o[n], core.i)
            wiring.connect(m, core.o, wiring.flipped(self.o[n]))
            wiring.connect(m, core.lengths, wiring.flipped(self.lengths[n]))
            cores.append(core)
        m.d.comb += self.error.eq(Cat(c.error for c in cores).any())
        if self.lossy:
            fan_out_table(m, self.table, [c.table for c in cores])
        return m

    def _transform(self, m, src, dst, width):
        """Tiler output -> transform -> scan -> quantizer input."""
        cfg, dtype = self.config, self.dtype
        order = scan.order(cfg.scan)
        in_width = 9 if dtype == "uint8" else 8
        if cfg.transform == "none" and cfg.scan == "raster":
            forward(m, src, dst, value="data", index="pos", pos="pos", present="present",
                    first="first", last="last")
            return
        if cfg.transform != "none":
            assert gdct.widths(cfg.transform, dtype)["forward_peak"] == width
        samples = stream.Signature(sample_layout(in_width)).create()
        forward(m, src, samples, value="data", first="first", last="last")
        # the DCT modes code every position, padding included
        m.d.comb += samples.payload.present.eq(src.payload.present | (cfg.transform != "none"))
        written = RASTER
        if cfg.transform != "none":
            m.submodules.rows = rows = Transform1D(in_width, width)
            wiring.connect(m, samples, rows.i)
            samples = rows.o
        if cfg.transform == "dct2d":
            m.submodules.transpose = transpose = Reorder(width, RASTER, COLUMN)
            m.submodules.columns = columns = Transform1D(width, width)
            wiring.connect(m, samples, transpose.i)
            forward(m, transpose.o, columns.i, value="value", present="present",
                    first="first", last="last")
            samples = columns.o
            written = COLUMN
        m.submodules.scan = reorder = Reorder(width if cfg.transform != "none" else in_width,
                                              written, order)
        wiring.connect(m, samples, reorder.i)
        if cfg.transform == "none":
            forward(m, reorder.o, dst, **{f: f for f in ("value", "index", "pos", "present",
                                                         "first", "last")})
        else:
            wiring.connect(m, reorder.o, dst)
