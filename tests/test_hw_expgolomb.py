"""hw.expgolomb.ExpGolombEncoder against golden.expgolomb's symbols."""
import random

import pytest
import torch

from golden import Config, codec
from hw.expgolomb import ExpGolombEncoder, max_item_length
from hw.testbench import golden_codewords, level_items, receive, run, send

CONFIGS = {
    "none-k0": Config(transform="none", adaptive=False),
    "none-adaptive-k2": Config(transform="none", adaptive=True, ktable=2, tile_blocks=3),
    "dct2d-runs-adaptive": Config(transform="dct2d", qtable=3, runs=True, adaptive=True,
                                  krun=1, tile_blocks=2),
    "dct1d-runs-k1": Config(transform="dct1d", qtable=2, runs=True, adaptive=False, ktable=1,
                            krun=0, tile_blocks=4),
    "pred-context": Config(transform="pred", runs=False, tile_blocks=2),
    "pred-k3": Config(transform="pred", runs=False, adaptive=False, ktable=3),
    "pred-runs": Config(transform="pred", runs=True, tile_blocks=2),
    "pred-runs-k3": Config(transform="pred", runs=True, adaptive=False, ktable=3),
}


def encode_items(items, config, dtype, gaps=0.0, stalls=0.0, seed=0):
    dut = ExpGolombEncoder(config, dtype, codec.coef_width(config.transform, dtype))
    got = {}

    async def source(ctx):
        await send(ctx, dut.i, items, random.Random(seed), gaps)

    async def sink(ctx):
        got["items"] = await receive(ctx, dut.o, len(items), random.Random(seed + 1), stalls)

    run(dut, source, sink, deadline=20 * len(items) + 100)
    out = []
    for it in got["items"]:
        assert it["code"] < (1 << it["length"]), it  # the packer's contract
        if it["length"]:
            out.append((it["code"], it["length"], it["last"]))
        elif it["last"]:  # an empty item closing a tile
            out[-1] = out[-1][:2] + (1,)
    return out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_random_tensor_with_stalls(name):
    config = CONFIGS[name]
    g = torch.Generator().manual_seed(len(name))
    dtype = "int8" if "k0" in name else "uint8"
    if dtype == "int8":
        x = torch.randint(-128, 128, (2, 11, 13), generator=g).to(torch.int8)
    else:  # sparse and bursty, like ReLU maps
        x = (torch.randint(0, 256, (2, 11, 13), generator=g)
             * (torch.rand(2, 11, 13, generator=g) < 0.4)).to(torch.uint8)
    items = level_items(x, config)
    assert encode_items(items, config, dtype, gaps=0.3, stalls=0.3) == golden_codewords(x, config)


@pytest.mark.parametrize("name", ["dct2d-runs-adaptive", "pred-context", "pred-runs"])
def test_real_tensor(real_acts, name):
    config = CONFIGS[name]
    x = real_acts["b10.dw"][:6]
    items = level_items(x, config)
    assert encode_items(items, config, "uint8") == golden_codewords(x, config)


def test_extreme_levels():
    """Levels at the ends of the coefficient range give the longest
    codewords the configuration allows."""
    config = Config(transform="dct2d", runs=True, adaptive=True, krun=7, tile_blocks=1)
    width = codec.coef_width("dct2d", "int8")
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    vals = [hi, lo, 0, 0, hi, 1, -1] + [0] * 56 + [lo]
    items = [{"value": v, "index": i, "k": 0, "present": 1, "last": int(i == 63)}
             for i, v in enumerate(vals)]
    dut_max = max_item_length(config, "int8")
    out = encode_items(items, config, "int8")
    assert max(n for _, n, _ in out) <= dut_max
    # the same levels through the golden symbol code
    from golden import expgolomb, scan
    lv = torch.tensor([vals], dtype=torch.int32)
    u, k, blk = expgolomb.symbols(lv, scan.order("zigzag"), config.ktable, True, True, 7, True, 1)
    code, length = expgolomb.codewords(u, k)
    bits = "".join(format(c, f"0{n}b") for c, n in zip(code.tolist(), length.tolist()))
    assert "".join(format(c, f"0{n}b") for c, n, _ in out) == bits
