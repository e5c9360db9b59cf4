"""A long randomized run of both tops against the golden model
(``python -m hw soak``): random configurations, element types, word
widths, lane counts, shapes and data, with random gaps and back-pressure
on every port. The pytest suite covers chosen cases; this looks for the
ones nobody chose."""
import random
import time

import torch

from golden import Config

from .bench import beats, expected_values, same_values
from .testbench import compress, decompress


def random_config(rng):
    """A valid golden configuration drawn from every mode and option."""
    while True:
        transform = rng.choice(["none", "dct1d", "dct2d", "pred"])
        lossy = rng.random() < 0.5
        if lossy and rng.random() < 0.5:
            qtable = tuple(rng.randint(1, 12) for _ in range(64))
        else:
            qtable = rng.randint(2, 8) if lossy else 1
        try:
            return Config(
                transform=transform, qtable=qtable, rounding=rng.randint(0, 8),
                ktable=rng.randint(0, 3), adaptive=rng.random() < 0.6,
                runs=transform != "pred" and rng.random() < 0.5, krun=rng.randint(0, 3),
                scan=None if transform == "pred" else rng.choice([None, "raster", "zigzag",
                                                                  "column"]),
                tile_blocks=rng.choice([1, 2, 3, 5, 16]))
        except ValueError:
            continue


def random_tensor(rng, dtype, shape):
    """Noise, sparse maps (as after ReLU) or smooth ramps, by a coin."""
    g = torch.Generator().manual_seed(rng.getrandbits(32))
    kind = rng.choice(["noise", "sparse", "smooth"])
    if kind == "smooth":
        c, h, w = shape
        ramp = torch.arange(h).view(1, h, 1) * rng.randint(0, 9) + \
            torch.arange(w).view(1, 1, w) * rng.randint(0, 9)
        x = (ramp + torch.randint(0, 4, shape, generator=g)).expand(shape)
        x = x % 256 if dtype == "uint8" else x % 256 - 128
    else:
        lo, hi = (0, 256) if dtype == "uint8" else (-128, 128)
        x = torch.randint(lo, hi, shape, generator=g)
        if kind == "sparse":
            x = x * (torch.rand(shape, generator=g) < 0.3)
    return x.to(torch.uint8 if dtype == "uint8" else torch.int8)


def run_case(seed):
    """One random case: the compressor's words and lengths against the
    golden stream, the decompressor's values against the golden
    reconstruction. Returns (description, None or what failed)."""
    rng = random.Random(seed)
    config = random_config(rng)
    dtype = rng.choice(["uint8", "int8"])
    word_width = rng.choice([32, 64])
    lanes = 8 if rng.random() < 0.2 else 1
    shape = (rng.randint(1, 4), rng.randint(1, 30), rng.randint(1, 30))
    x = random_tensor(rng, dtype, shape)
    gaps, stalls = rng.choice([0.0, 0.2, 0.5]), rng.choice([0.0, 0.2, 0.5])
    what = (f"seed {seed}: {config}, {dtype}, {word_width}-bit words, {lanes} lane(s), "
            f"shape {shape}, gaps {gaps}, stalls {stalls}")
    words, lengths, want_words, want_lengths, _ = compress(
        x, config, dtype, word_width, gaps, stalls, seed, lanes=lanes)
    if lengths != want_lengths:
        return what, "compressor: tile lengths differ from the golden stream"
    if words != want_words:
        return what, "compressor: words differ from the golden stream"
    # the decompressor takes the golden stream (the words just checked)
    got, errors, _ = decompress(want_words, want_lengths, x, config, dtype, word_width, gaps,
                                stalls, seed, lanes=lanes)
    if errors:
        return what, f"decompressor: error flags on a clean stream: {errors}"
    bad = same_values(got, beats(expected_values(x, config), lanes))
    if bad is not None:
        return what, f"decompressor: output {bad} differs from the golden reconstruction"
    return what, None


def main(a):
    from tqdm import tqdm
    start = time.monotonic()
    failed = []
    bar = tqdm(range(a.cases), desc="soak", unit="case", disable=a.quiet)
    done = 0
    for i in bar:
        if a.minutes and time.monotonic() - start > 60 * a.minutes:
            break
        what, problem = run_case(a.seed * 1_000_003 + i)
        done += 1
        if problem:
            failed.append((what, problem))
            bar.write(f"FAIL {what}\n     {problem}")
            if not a.keep_going:
                break
    print(f"{done} cases in {time.monotonic() - start:.0f} s, {len(failed)} failed "
          f"(seed {a.seed})")
    for what, problem in failed:
        print(f"  {what}\n    {problem}")
    return 1 if failed else 0
