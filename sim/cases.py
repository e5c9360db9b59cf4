"""The named cocotb cases (``python -m sim [TEST ...]``, tests/test_sim.py)."""
import torch

from golden import Config

from .runner import run_bench


def noise(dtype, shape, seed, sparsity=0.5):
    g = torch.Generator().manual_seed(seed)
    lo, hi = (0, 256) if dtype == "uint8" else (-128, 128)
    x = torch.randint(lo, hi, shape, generator=g) * (torch.rand(shape, generator=g) > sparsity)
    return x.to(torch.uint8 if dtype == "uint8" else torch.int8)


BURSTY = ((0.2, 4), (0.3, 3))   # gaps on the inputs, stalls on the outputs


def _top(bench, config, dtype="uint8", **kw):
    def case(name, seed, work, sim, waves):
        x = noise(dtype, (3, 19, 21), seed)
        return [run_bench(name, bench, [x], config, dtype, seed=seed, gaps=BURSTY[0],
                          stalls=BURSTY[1], work=work, sim=sim, waves=waves, **kw)]
    return case


def roundtrip(config, dtype="uint8"):
    """The hardware compressor's words into the hardware decompressor:
    lossless gives the input back, lossy the golden reconstruction."""
    def case(name, seed, work, sim, waves):
        x = noise(dtype, (2, 17, 23), seed)
        c = run_bench(f"{name}-compressor", "compressor", [x], config, dtype, seed=seed,
                      gaps=BURSTY[0], stalls=BURSTY[1], work=work, sim=sim, waves=waves)
        if not c.passed:
            return [c]
        d = run_bench(f"{name}-decompressor", "decompressor", [x], config, dtype, seed=seed,
                      gaps=BURSTY[0], stalls=BURSTY[1], work=work, sim=sim, waves=waves,
                      words=c.report["words"], lengths_in=c.report["lengths"])
        return [c, d]
    return case


CASES = {
    "compressor-pred": _top("compressor", Config(tile_blocks=2)),
    "compressor-dct2d-runs": _top("compressor", Config(transform="dct2d", runs=True, qtable=4,
                                                       tile_blocks=3), "int8"),
    "compressor-none-zigzag": _top("compressor", Config(transform="none", scan="zigzag",
                                                        adaptive=False, ktable=1)),
    "decompressor-pred": _top("decompressor", Config(qtable=3, tile_blocks=2)),
    "decompressor-dct1d-runs": _top("decompressor", Config(transform="dct1d", scan="column",
                                                           runs=True, qtable=2), "int8"),
    "decompressor-corrupt-flip": _top("decompressor", Config(tile_blocks=1),
                                      corrupt={"tile": 5, "how": "flip"}),
    "decompressor-corrupt-truncate": _top("decompressor", Config(tile_blocks=1),
                                          corrupt={"tile": 3, "how": "truncate"}),
    "decompressor-corrupt-garbage": _top("decompressor", Config(transform="dct2d", runs=True,
                                                                tile_blocks=1),
                                         corrupt={"tile": 7, "how": "garbage"}),
    "roundtrip-lossless": roundtrip(Config(tile_blocks=2)),
    "roundtrip-lossy-dct2d": roundtrip(Config(transform="dct2d", runs=True, qtable=5,
                                              tile_blocks=2), "int8"),
}


def run(name, seed=1, work="build/sim", sim="icarus", waves=False):
    """Run the named case; returns its list of :class:`sim.runner.Result`."""
    if name not in CASES:
        raise KeyError(f"no case named {name!r}; the cases: {', '.join(CASES)}")
    return CASES[name](name, seed, work, sim, waves)
