"""The named cocotb cases (``python -m sim [TEST ...]``, tests/test_sim.py).

A case builds its stimulus from the seed, runs one bench or a round trip
(the hardware compressor's words into the hardware decompressor) and
returns a :class:`sim.runner.Result` per bench run. Families:

- ``compressor-*``, ``decompressor-*``: one top on random tensors in
  chosen modes; corrupted streams (flip, truncate, garbage); a reset in the
  middle of a tile followed by step-table changes between tiles and
  between tensors; 8 lanes.
- ``roundtrip-*``: both tops, lossless (the input back) and lossy (the
  golden reconstruction).
- ``real-*``: whole activation tensors of the evaluation network
  (EfficientNet-Lite0 on the astronaut photo).
- ``random-*``: a covering set of configurations (every transform, scan,
  run mode, order rule, element type, word width, lane count, table kind
  and build) whose other parameters, shapes, data and stall patterns come
  from the seed.
"""
import functools
import random

import torch

from boards.protocol import board_config
from golden import Config

from .runner import run_bench


def noise(dtype, shape, seed, sparsity=0.5):
    g = torch.Generator().manual_seed(seed)
    lo, hi = (0, 256) if dtype == "uint8" else (-128, 128)
    x = torch.randint(lo, hi, shape, generator=g) * (torch.rand(shape, generator=g) > sparsity)
    return x.to(torch.uint8 if dtype == "uint8" else torch.int8)


BURSTY = {"gaps": (0.2, 4), "stalls": (0.3, 3)}   # on the inputs, on the outputs
DRAM_BYTES = 1 << 20


def stimulus(tensors, dtype, shape, seed):
    """A case's tensors: ``tensors(seed)``, or one noise tensor of ``shape``."""
    return tensors(seed) if tensors else [noise(dtype, shape, seed)]


def steps(seed, lo=1, hi=12):
    """A per-position step table."""
    rng = random.Random(seed)
    return [rng.randint(lo, hi) for _ in range(64)]


@functools.lru_cache(maxsize=None)
def real(name):
    """A whole activation tensor of the evaluation network (uint8 after a
    ReLU6, int8 for a block output)."""
    from golden import network
    return network.activation(name, "astronaut", _model())


@functools.lru_cache(maxsize=1)
def _model():
    from golden import network
    return network.load_model()


def one(bench, config, dtype="uint8", shape=(3, 19, 21), tensors=None, **kw):
    """A case on one top; ``tensors(seed)`` (default: one noise tensor of
    ``shape``) go through one simulation, ``kw`` to :func:`run_bench`."""
    kw = {**BURSTY, **kw}

    def case(name, seed, work, sim, waves):
        xs = stimulus(tensors, dtype, shape, seed)
        return [run_bench(name, bench, xs, config, dtype, seed=seed, work=work, sim=sim,
                          waves=waves, **kw)]
    return case


def roundtrip(config, dtype="uint8", shape=(2, 17, 23), tensors=None, **kw):
    """The hardware compressor's words into the hardware decompressor:
    lossless gives the input back, lossy the golden reconstruction."""
    kw = {**BURSTY, **kw}

    def case(name, seed, work, sim, waves):
        xs = stimulus(tensors, dtype, shape, seed)
        return pair(name, xs, config, dtype, seed, work, sim, waves, **kw)
    return case


def pair(name, xs, config, dtype, seed, work, sim, waves, **kw):
    c = run_bench(f"{name}-compressor", "compressor", xs, config, dtype, seed=seed, work=work,
                  sim=sim, waves=waves, **kw)
    if not c.passed:
        return [c]
    d = run_bench(f"{name}-decompressor", "decompressor", xs, config, dtype, seed=seed,
                  work=work, sim=sim, waves=waves, words=c.report["words"],
                  lengths_in=c.report["lengths"], **kw)
    return [c, d]


def _two(dtype, shape):
    return lambda seed: [noise(dtype, shape, seed), noise(dtype, shape, seed + 1, 0.2)]


# the covering set of the random cases: each value of each parameter at least once
COVER = [
    dict(transform="none", scan="raster", runs=False, adaptive=True, dtype="uint8",
         steps="lossless", ktable="flat", word_width=32, lanes=1, lossy=False),
    dict(transform="none", scan="zigzag", runs=True, adaptive=False, dtype="int8",
         steps="table", ktable="table", word_width=64, lanes=1, lossy=True),
    dict(transform="dct1d", scan="column", runs=True, adaptive=True, dtype="uint8",
         steps="flat", ktable="flat", word_width=32, lanes=1, lossy=True),
    dict(transform="dct1d", scan="raster", runs=False, adaptive=False, dtype="int8",
         steps="lossless", ktable="table", word_width=64, lanes=8, lossy=True),
    dict(transform="dct2d", scan="zigzag", runs=False, adaptive=True, dtype="int8",
         steps="table", ktable="flat", word_width=32, lanes=1, lossy=True),
    dict(transform="dct2d", scan="column", runs=True, adaptive=False, dtype="uint8",
         steps="lossless", ktable="table", word_width=64, lanes=1, lossy=False),
    dict(transform="pred", scan=None, runs=False, adaptive=True, dtype="uint8",
         steps="flat", ktable="flat", word_width=64, lanes=8, lossy=True),
    dict(transform="pred", scan=None, runs=False, adaptive=False, dtype="int8",
         steps="table", ktable="table", word_width=32, lanes=1, lossy=True),
]


def draw(i, seed):
    """Random case ``i``: its configuration, tensor and run parameters."""
    from hw.soak import random_tensor
    d, rng = COVER[i], random.Random(seed * 1_000_003 + i)
    qtable = {"lossless": 1, "flat": rng.randint(2, 8),
              "table": tuple(rng.randint(1, 12) for _ in range(64))}[d["steps"]]
    ktable = rng.randint(0, 3) if d["ktable"] == "flat" else \
        tuple(rng.randint(0, 4) for _ in range(64))
    config = Config(transform=d["transform"], qtable=qtable, rounding=rng.randint(0, 8),
                    ktable=ktable, adaptive=d["adaptive"], runs=d["runs"],
                    krun=rng.randint(0, 3), scan=d["scan"],
                    tile_blocks=rng.choice([1, 2, 3, 5, 16]))
    lo = 9 if d["lanes"] > 1 else 1   # enough blocks for every lane
    shape = (rng.randint(1, 4), rng.randint(lo, 40), rng.randint(lo, 40))
    x = random_tensor(rng, d["dtype"], shape)
    run = {"word_width": d["word_width"], "lanes": d["lanes"], "lossy": d["lossy"],
           "gaps": (rng.choice([0.0, 0.1, 0.3, 0.6]), rng.randint(1, 5)),
           "stalls": (rng.choice([0.0, 0.1, 0.3, 0.6]), rng.randint(1, 5))}
    return config, d["dtype"], x, run


def random_case(i):
    def case(name, seed, work, sim, waves):
        config, dtype, x, run = draw(i, seed)
        return pair(name, [x], config, dtype, seed, work, sim, waves, **run)
    return case


def runs_map(seed):
    """A map for zero-run coverage: block ``b < 64`` holds one non-zero at
    raster position ``b`` (a run of ``b`` zeros), four blocks are all zero
    (end of block alone) and four are dense noise."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.zeros(72, 64, dtype=torch.int64)
    blocks[torch.arange(64), torch.arange(64)] = torch.randint(1, 256, (64,), generator=g)
    blocks[68:] = torch.randint(0, 256, (4, 64), generator=g)
    img = blocks.view(8, 9, 8, 8).permute(0, 2, 1, 3).reshape(1, 64, 72)
    return [img.to(torch.uint8)]


def extremes(seed):
    """Blocks at full scale with the signs of each 2-D DCT basis function
    (block (u, v) of a plane matches basis (u, v); the second plane has the
    opposite signs): the largest coefficients, the longest codewords. Then
    noise."""
    n = torch.arange(8, dtype=torch.float64)
    c = torch.cos(torch.pi * (2 * n.view(8, 1) + 1) * n.view(1, 8) / 16)   # c[x, u]
    basis = torch.einsum("xu,yv->uvxy", c, c)       # basis[u, v] is an 8x8 block
    signs = torch.where(basis >= 0, 1, -1).permute(0, 2, 1, 3).reshape(64, 64)
    planes = torch.stack([signs, -signs])
    x = torch.where(planes > 0, 127, -128).to(torch.int8)
    return [x, noise("int8", (2, 16, 24), seed, 0.0)]


def dma(config, dtype="uint8", shape=(3, 19, 21), tensors=None, bases=((0x0F00, 0x3FF0),),
        dram_pauses=0.3, **kw):
    """``CompressorDMA`` writing a DRAM model (cocotbext-axi) with pauses
    on every channel; the default bases put tiles and index across 4 KiB
    boundaries."""
    kw = {**BURSTY, "word_width": 64, **kw}

    def case(name, seed, work, sim, waves):
        xs = stimulus(tensors, dtype, shape, seed)
        return [run_bench(name, "compressor_dma", xs, config, dtype, seed=seed, work=work,
                          sim=sim, waves=waves, bases=[list(b) for b in bases],
                          dram_bytes=DRAM_BYTES, dram_pauses=dram_pauses, **kw)]
    return case


def tile_ranges(tiles, seed, whole=True, spans=3):
    """Read-back requests: the whole tensor, each tile alone in a random
    order, and a few random spans."""
    rng = random.Random(seed)
    order = list(range(tiles))
    rng.shuffle(order)
    out = [(0, tiles)] if whole else []
    out += [(t, 1) for t in order]
    for _ in range(spans):
        first = rng.randrange(tiles)
        out.append((first, rng.randint(1, tiles - first)))
    return out


def dma_roundtrip(config, dtype="uint8", shape=(3, 19, 21), tensors=None,
                  bases=((0x0F00, 0x3FF0),), whole=True, spans=3, dram_pauses=0.3,
                  read_errors=(), **kw):
    """``CompressorDMA`` writes DRAM, then ``DecompressorDMA`` reads that
    image back: the whole tensor, every tile alone in a random order, and
    random spans."""
    kw = {**BURSTY, "word_width": 64, **kw}

    def case(name, seed, work, sim, waves):
        from pathlib import Path
        xs = stimulus(tensors, dtype, shape, seed)
        image = Path(work).resolve() / "cases" / f"{name}.dram"
        common = dict(seed=seed, work=work, sim=sim, waves=waves,
                      bases=[list(b) for b in bases], dram_bytes=DRAM_BYTES,
                      dram_pauses=dram_pauses, **kw)
        c = run_bench(f"{name}-write", "compressor_dma", xs[:1], config, dtype, dump=str(image),
                      **common)
        if not c.passed:
            return [c]
        tiles = c.report["tensors"][0]["TILES"]
        return [c, run_bench(f"{name}-read", "decompressor_dma", xs[:1], config, dtype,
                             image=str(image), ranges=tile_ranges(tiles, seed, whole, spans),
                             bad=[list(b) for b in read_errors], **common)]
    return case


PRED3 = Config(qtable=3, tile_blocks=2)
DCT2D = Config(transform="dct2d", runs=True, qtable=4, tile_blocks=3)

def board(lossy=False, shapes=((1, 2, 12, 13),), dtype="uint8", **kw):
    """The board demo with the real host program on a pseudo-terminal
    (:mod:`sim.board_benches`): each tensor's stream and reconstruction
    against golden, over the UART."""

    def case(name, seed, work, sim, waves):
        xs = [noise(dtype, shape, seed + i) for i, shape in enumerate(shapes)]
        return [run_bench(name, "board", xs, board_config(lossy), dtype, lossy=lossy, seed=seed, work=work,
                          sim=sim, waves=waves, **kw)]
    return case


CASES = {
    "compressor-pred": one("compressor", Config(tile_blocks=2)),
    "compressor-dct2d-runs": one("compressor", DCT2D, "int8"),
    "compressor-none-zigzag": one("compressor", Config(transform="none", scan="zigzag",
                                                       adaptive=False, ktable=1)),
    # a reset mid-tile, a step-table change between tiles 3 and 4 of the
    # first tensor, another between the two tensors
    "compressor-reset-retable-pred": one("compressor", PRED3, tensors=_two("uint8", (3, 19, 21)),
                                         reset=True, retable={"tile": 4, "qtable": steps(1)},
                                         tables=[steps(2, 1, 5)]),
    "compressor-reset-retable-dct2d": one("compressor", DCT2D, "int8",
                                          tensors=_two("int8", (2, 20, 27)), reset=True,
                                          retable={"tile": 3, "qtable": steps(3)},
                                          tables=[steps(4, 2, 30)]),
    "compressor-lanes8": one("compressor", Config(transform="dct1d", runs=True, qtable=2,
                                                  tile_blocks=2), "int8",
                             tensors=_two("int8", (3, 40, 33)), word_width=64, lanes=8,
                             reset=True, tables=[steps(5)]),
    "decompressor-pred": one("decompressor", Config(qtable=3, tile_blocks=2)),
    "decompressor-dct1d-runs": one("decompressor", Config(transform="dct1d", scan="column",
                                                          runs=True, qtable=2), "int8"),
    "decompressor-corrupt-flip": one("decompressor", Config(tile_blocks=1),
                                     corrupt={"tile": 5, "how": "flip"}),
    "decompressor-corrupt-truncate": one("decompressor", Config(tile_blocks=1),
                                         corrupt={"tile": 3, "how": "truncate"}),
    "decompressor-corrupt-garbage": one("decompressor", Config(transform="dct2d", runs=True,
                                                              tile_blocks=1),
                                        corrupt={"tile": 7, "how": "garbage"}),
    "decompressor-reset-retable-pred": one("decompressor", PRED3,
                                           tensors=_two("uint8", (3, 19, 21)), reset=True,
                                           retable={"tile": 4, "qtable": steps(6)},
                                           tables=[steps(7, 1, 5)]),
    "decompressor-reset-retable-dct2d": one("decompressor", DCT2D, "int8",
                                            tensors=_two("int8", (2, 20, 27)), reset=True,
                                            retable={"tile": 3, "qtable": steps(8)},
                                            tables=[steps(9, 2, 30)]),
    "decompressor-lanes8": one("decompressor", PRED3, tensors=_two("uint8", (3, 40, 33)),
                               word_width=64, lanes=8, reset=True, tables=[steps(10, 1, 6)]),
    "decompressor-lanes8-corrupt": one("decompressor", Config(transform="dct2d", tile_blocks=1),
                                       shape=(2, 30, 40), word_width=64, lanes=8,
                                       corrupt={"tile": 9, "how": "garbage"}),
    # eight interleaved lanes: a real map in one-block tiles (eight and more
    # per lane, every slot busy), back-pressure filling the slots' rings
    "decompressor-interleaved-lanes8": one("decompressor", Config(tile_blocks=1),
                                           tensors=lambda seed: [real("b5.dw")[:24]],
                                           word_width=64, lanes=8, interleaved=True),
    "roundtrip-lossless": roundtrip(Config(runs=False, tile_blocks=2)),   # pred's value mode
    "roundtrip-pred-runs": roundtrip(Config(runs=True, tile_blocks=2)),
    "roundtrip-lossy-dct2d": roundtrip(Config(transform="dct2d", runs=True, qtable=5,
                                              tile_blocks=2), "int8"),
    "roundtrip-lanes8": roundtrip(Config(transform="none", runs=True, tile_blocks=1),
                                  shape=(2, 36, 40), word_width=64, lanes=8),
    "dma-compressor-pred": dma(Config(tile_blocks=2)),
    "dma-compressor-dct2d-32bit": dma(Config(transform="dct2d", runs=True, qtable=4,
                                             tile_blocks=3), "int8", word_width=32,
                                      tensors=_two("int8", (2, 20, 27)),
                                      bases=((0x0FC0, 0x1FF8), (0x5000, 0x4F00)),
                                      tables=[steps(11)]),
    # SLVERR on part of the first tensor's tiles; the second one is clean
    "dma-compressor-slverr": dma(Config(runs=False, tile_blocks=2), tensors=_two("uint8", (3, 19, 21)),
                                 bases=((0x0F00, 0x3FF0), (0x20000, 0x30000)),
                                 bad=[[0x1000, 0x1100]], tables=[steps(12, 1, 4)]),
    "dma-roundtrip-pred": dma_roundtrip(Config(qtable=2, tile_blocks=2)),
    "dma-roundtrip-dct2d-32bit": dma_roundtrip(Config(transform="dct2d", runs=True, qtable=3,
                                                      tile_blocks=1), "int8", word_width=32,
                                               bases=((0x0FC0, 0x1FF8),)),
    # SLVERR on reads of part of the data: reported, and every read ends
    "dma-roundtrip-slverr": dma_roundtrip(Config(tile_blocks=2), spans=0,
                                          read_errors=((0x1000, 0x1080),)),
    # a whole layer written, then read back tile by tile in a random order
    "dma-real-b5.dw": dma_roundtrip(Config(), tensors=lambda seed: [real("b5.dw")],
                                    bases=((0x0F00, 0x7FFF0),), whole=False, spans=0,
                                    dram_pauses=0.5),
    # every zero-run length 0..63 and every exp-Golomb order 0..7
    "roundtrip-runs-all-orders": roundtrip(Config(transform="none", runs=True, adaptive=False,
                                                  ktable=tuple(p % 8 for p in range(64)),
                                                  krun=1, tile_blocks=4), tensors=runs_map),
    # the largest coefficients: the longest codewords, step 1 and order 0
    "roundtrip-dct2d-extremes": roundtrip(Config(transform="dct2d", adaptive=False, ktable=0,
                                                 tile_blocks=2), "int8", tensors=extremes),
    # whole layers: 240x14x14 = 47,040 values (61,440 with block padding)
    # in the default configuration; 192x7x7 = 9,408 signed values, lossy,
    # on 8 lanes
    "real-b5.dw": roundtrip(Config(), tensors=lambda seed: [real("b5.dw")]),
    "real-b5.dw-values": roundtrip(Config(runs=False), tensors=lambda seed: [real("b5.dw")]),
    # the host program against the simulated board (iCEBreaker's build:
    # lossless only; ULX3S's: lossy, a step table loaded over the UART)
    "board-host-lossless": board(shapes=((1, 2, 12, 13), (3, 8, 8))),
    "board-host-lossy": board(lossy=True, host_args=["--step", "3"]),
    "real-b13.out-lanes8": roundtrip(Config(transform="dct2d", runs=True, qtable=3), "int8",
                                     tensors=lambda seed: [real("b13.out")], word_width=64,
                                     lanes=8),
    **{f"random-{i + 1}": random_case(i) for i in range(len(COVER))},
}


def run(name, seed=1, work="build/sim", sim="icarus", waves=False):
    """Run the named case; returns its list of :class:`sim.runner.Result`."""
    if name not in CASES:
        raise KeyError(f"no case named {name!r}; the cases: {', '.join(CASES)}")
    return CASES[name](name, seed, work, sim, waves)
