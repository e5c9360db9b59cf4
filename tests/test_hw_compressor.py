"""hw.compressor.Compressor against python -m golden encode --raw."""
import pytest
import torch

from golden import Config
from hwsim import compress

CONFIGS = {
    "pred-default": Config(),
    "pred-lossy-step3": Config(qtable=3, tile_blocks=3),
    "pred-k2": Config(adaptive=False, ktable=2, tile_blocks=2),
    "none-adaptive": Config(transform="none", adaptive=True, tile_blocks=2),
    "none-step5": Config(transform="none", qtable=5, rounding=4, adaptive=False, ktable=1),
}


def random_tensor(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == "int8":
        return torch.randint(-128, 128, shape, generator=g).to(torch.int8)
    smooth = torch.randint(0, 256, shape, generator=g) * (torch.rand(shape, generator=g) < 0.5)
    return smooth.to(torch.uint8)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_random_with_stalls(name, dtype):
    x = random_tensor(dtype, (2, 9, 12), len(name))
    words, lengths, want_words, want_lengths, _ = compress(
        x, CONFIGS[name], dtype, gaps=0.2, stalls=0.2)
    assert lengths == want_lengths
    assert words == want_words


@pytest.mark.parametrize("word_width", [32, 64])
def test_real_tensor(real_acts, word_width):
    x = real_acts["b1.expand"][:2, :24, :24]
    words, lengths, want_words, want_lengths, cycles = compress(x, Config(), "uint8", word_width)
    assert lengths == want_lengths
    assert words == want_words


DCT_CONFIGS = {
    "none-zigzag": Config(transform="none", scan="zigzag", adaptive=False),
    "dct1d-step2": Config(transform="dct1d", qtable=2, adaptive=True, tile_blocks=3),
    "dct1d-column-runs": Config(transform="dct1d", scan="column", qtable=3, runs=True,
                                krun=1, adaptive=False, ktable=1),
    "dct2d-lossless": Config(transform="dct2d", adaptive=True, tile_blocks=2),
    "dct2d-runs": Config(transform="dct2d", qtable=6, rounding=5, runs=True, adaptive=True,
                         krun=2, tile_blocks=3),
}


@pytest.mark.parametrize("name", sorted(DCT_CONFIGS))
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_transforms_with_stalls(name, dtype):
    x = random_tensor(dtype, (2, 9, 12), len(name))
    words, lengths, want_words, want_lengths, _ = compress(
        x, DCT_CONFIGS[name], dtype, gaps=0.2, stalls=0.2)
    assert lengths == want_lengths
    assert words == want_words
