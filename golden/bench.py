"""Encode/decode throughput of the golden codec per mode (python -m golden bench)."""
import time

import torch

from . import codec, network
from .config import Config

MODES = [(t, r, a) for t in ("none", "dct1d", "dct2d") for r in (False, True) for a in (False, True)]
MODES += [("pred", False, a) for a in (False, True)]


def best_time(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(a):
    x = network.activation(a.layer)
    n = x.numel()
    rows = []
    for transform, runs, adaptive in MODES:
        cfg = Config(transform=transform, runs=runs, adaptive=adaptive)
        enc = codec.encode(x, cfg)
        data = enc.container()
        assert torch.equal(codec.decode(data), x)
        te = best_time(lambda: codec.encode(x, cfg).container(), a.repeat)
        td = best_time(lambda: codec.decode(data), a.repeat)
        rows.append((transform, "on" if runs else "off", "adaptive" if adaptive else "0",
                     8 * len(data) / n, n / te / 1e6, n / td / 1e6))
    head = ("transform", "runs", "k", "bits/value", "encode Mvalues/s", "decode Mvalues/s")
    print(f"tensor: efficientnet-lite0 {a.layer}, uint8 {tuple(x.shape)} ({n} values), lossless, "
          f"best of {a.repeat}, torch threads {torch.get_num_threads()}")
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]:.1f} | {r[5]:.2f} |")
    else:
        print(f"{head[0]:10s}{head[1]:6s}{head[2]:10s}{head[3]:>12s}{head[4]:>18s}{head[5]:>18s}")
        for r in rows:
            print(f"{r[0]:10s}{r[1]:6s}{r[2]:10s}{r[3]:12.3f}{r[4]:18.1f}{r[5]:18.2f}")
    return 0
