"""The cocotb benches (run inside the simulator by :mod:`sim.runner`).

Each bench reads its case from the JSON file named by ``FMC_SIM_CASE``
(written by :func:`sim.runner.run_case`): the top's port map, the golden
configuration, the tensors, the stall patterns and what to do (a reset in
the middle of a tile, a step-table change between tensors, a damaged
tile). It checks the top against the golden model with
:mod:`sim.scoreboard` and writes what it saw (words, cycles, coverage) to
the case's report file.
"""
import json
import os
import random
import time

import cocotb
import torch
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, gather, with_timeout

from golden import Config, codec, expgolomb
from hw.bench import (beats, expected_values, lane_streams, payload_words, shape_item, unrow,
                      value_items)
from hw.testbench import corrupt

from .runner import CLOCK_NS
from .scoreboard import first_value_mismatch, first_word_mismatch
from .streams import Pattern, StreamSink, StreamSource, unpack



def load_case():
    with open(os.environ["FMC_SIM_CASE"]) as f:
        case = json.load(f)
    case["config"] = Config(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in case["config"].items()})
    case["tensors"] = [torch.load(p) for p in case["tensors"]]
    return case


def save_report(case, report):
    with open(case["report"], "w") as f:
        json.dump(report, f)


async def start(dut, ports):
    """Start the clock, drive the step-table port idle (an undriven input
    would be X everywhere) and reset."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    if "table" in ports:
        dut.table__en.value = 0
        dut.table__addr.value = 0
        dut.table__data.value = 1
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def pulse_reset(dut):
    """Reset for one clock; returns one edge later, where the signals read
    show the state the reset left."""
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def write_table(dut, qtable):
    """Write the 64 steps through the ``table`` port, one per clock."""
    for p, q in enumerate(qtable):
        dut.table__addr.value = p
        dut.table__data.value = q
        dut.table__en.value = 1
        await RisingEdge(dut.clk)
    dut.table__en.value = 0


async def bounded(dut, tasks, cycles, what):
    """Wait for ``tasks`` within ``cycles`` clocks (no hang)."""
    try:
        await with_timeout(gather(*tasks), cycles * CLOCK_NS, timeout_unit="ns")
    except cocotb.triggers.SimTimeoutError:
        raise AssertionError(f"{what}: not done within {cycles} clocks (a hang?)") from None


def coverage(x, config):
    """What the golden model says this tensor exercises: the codeword
    lengths and zero-run lengths coded (histograms)."""
    u, k, blk, nb = codec._symbols(x, config)
    _, length = expgolomb.codewords(u, k)
    lengths, orders = _histogram(length.tolist()), _histogram(k.tolist())
    runs = {}
    if config.zero_runs:
        # a run symbol r > 0 (r - 1 zeros) is followed by its level; 0 is EOB
        sym, j = u.tolist(), 0
        while j < len(sym):
            key = "eob" if sym[j] == 0 else sym[j] - 1
            runs[key] = runs.get(key, 0) + 1
            j += 2 if sym[j] != 0 else 1
    return {"codeword_lengths": lengths, "orders": orders, "runs": runs}


def _histogram(values):
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def spliced(x, first, then, tile, word_width):
    """One lane's golden (words per tile, lengths) when tiles before
    ``tile`` are coded with config ``first`` and the rest with ``then`` (a
    step-table change between tiles)."""
    a, b = (codec.encode(x, c.replace(align=word_width // 8)) for c in (first, then))
    words, lengths = [], []
    for t in range(len(a.tile_lengths)):
        e = a if t < tile else b
        words.append(payload_words(e.payload[e.offsets[t]:e.offsets[t + 1]], word_width))
        lengths.append(e.tile_lengths[t])
    return words, lengths


async def until(dut, done):
    """Wait for the clock edge at which ``done()`` holds."""
    while not done():
        await RisingEdge(dut.clk)


def tensor_configs(case):
    """Each tensor's configuration: the case's, then a step table from
    ``tables`` for each later tensor (the last one kept for the rest)."""
    cfg = case["config"]
    configs = [cfg] + [cfg.replace(qtable=tuple(q)) for q in case.get("tables", [])]
    assert len(configs) <= len(case["tensors"]), "more step tables than tensors"
    return configs + configs[-1:] * (len(case["tensors"]) - len(configs))


def lane_ports(name, lanes):
    return [name] if lanes == 1 else [f"{name}__{n}" for n in range(lanes)]


@cocotb.test()
async def bench_compressor(dut):
    """Values in, every lane's words and tile lengths out: byte for byte the
    golden stream (``golden encode --raw``) and the golden tile sizes."""
    case = load_case()
    cfg, lanes, W = case["config"], case["lanes"], case["word_width"]
    ports = case["ports"]
    await start(dut, case["inputs"])
    rng = random.Random(case["seed"])
    src = StreamSource(dut, "i", dut.clk, ports["i__payload"], Pattern(*case["gaps"], rng.random()))
    report = {"words": [], "lengths": [], "stalled": 0, "gapped": 0, "cycles": 0}
    if case.get("reset"):
        # part of a tensor, then a reset with words in flight: nothing may leak
        junk = beats(value_items(case["tensors"][0].flip(-1).contiguous()), lanes)
        for p in lane_ports("o", lanes) + lane_ports("lengths", lanes):
            getattr(dut, f"{p}__ready").value = 1
        await bounded(dut, [src.send(junk[:len(junk) // 3])], 40 * len(junk), "before the reset")
        for _ in range(20):
            await RisingEdge(dut.clk)
        await pulse_reset(dut)
        for p in lane_ports("o", lanes) + lane_ports("lengths", lanes):
            assert not getattr(dut, f"{p}__valid").value, f"{p} still valid after the reset"
    configs = tensor_configs(case)
    active = cfg.qtable
    retable = case.get("retable")   # a step-table change between two tiles of tensor 0
    for t, (x, c) in enumerate(zip(case["tensors"], configs)):
        if c.qtable != active:
            await write_table(dut, c.qtable)
            active = c.qtable
        items = beats(value_items(x), lanes)
        if retable and t == 0:
            assert lanes == 1, "with 8 lanes the step table changes between tensors"
            k, new = retable["tile"], c.replace(qtable=tuple(retable["qtable"]))
            per_tile, n = spliced(x, c, new, k, W)
            want_w, want_l = [[w for tile in per_tile for w in tile]], [n]
        else:
            want_w, want_l = lane_streams(codec.encode(x, c.replace(align=W // 8)), W, lanes)
        sinks = [StreamSink(dut, p, dut.clk, Pattern(*case["stalls"], rng.random()))
                 for p in lane_ports("o", lanes)]
        lsinks = [StreamSink(dut, p, dut.clk, Pattern(*case["stalls"], rng.random()))
                  for p in lane_ports("lengths", lanes)]

        async def feed():
            if not (retable and t == 0):
                await src.send(items)
                return
            cut = k * c.tile_blocks * 64
            await src.send(items[:cut])
            # tile k - 1 coded whole (its length out) before the write
            await until(dut, lambda: len(lsinks[0].items) >= k)
            await write_table(dut, new.qtable)
            await src.send(items[cut:])

        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        tasks = [feed()]
        tasks += [s.receive(len(w)) for s, w in zip(sinks, want_w)]
        tasks += [s.receive(len(n)) for s, n in zip(lsinks, want_l)]
        await bounded(dut, tasks, 40 * len(items) + 2000, f"tensor {t}")
        if retable and t == 0:
            active = new.qtable
        report["cycles"] += int((cocotb.utils.get_sim_time(unit="ns") - begin) // CLOCK_NS)
        report["seconds"] = report.get("seconds", 0) + time.monotonic() - wall
        for lane, (s, ls, w, n) in enumerate(zip(sinks, lsinks, want_w, want_l)):
            assert ls.items == n, (f"tensor {t}, lane {lane}: tile lengths {ls.items}, "
                                   f"golden {n}")
            bad = first_word_mismatch(s.items, w, n, W, lane if lanes > 1 else None, lanes)
            assert bad is None, f"tensor {t}: {bad}"
            report["stalled"] += s.stalled + ls.stalled
        report["words"].append([s.items for s in sinks])
        report["lengths"].append([s.items for s in lsinks])
        report.setdefault("coverage", []).append(coverage(x, c))
    report["gapped"] = src.idle
    save_report(case, report)


@cocotb.test()
async def bench_decompressor(dut):
    """Words, tile lengths and shapes in, values out: the golden
    reconstruction; a damaged tile raises the error flag for that tile only,
    and the run ends within its cycle bound."""
    case = load_case()
    cfg, lanes, W = case["config"], case["lanes"], case["word_width"]
    ports = case["ports"]
    await start(dut, case["inputs"])
    rng = random.Random(case["seed"])
    words_src = [StreamSource(dut, p, dut.clk, None, Pattern(*case["gaps"], rng.random()))
                 for p in lane_ports("words", lanes)]
    len_src = [StreamSource(dut, p, dut.clk, None, Pattern(*case["gaps"], rng.random()))
               for p in lane_ports("lengths", lanes)]
    shape_src = StreamSource(dut, "shape", dut.clk, ports["shape__payload"])
    sink = StreamSink(dut, "o", dut.clk, Pattern(*case["stalls"], rng.random()))
    out_fields = ports["o__payload"]
    signed = ("data",) if case["dtype"] == "int8" else ()
    report = {"errors": [], "stalled": 0, "gapped": 0, "cycles": 0}
    errors = []

    async def monitor():
        while True:
            await RisingEdge(dut.clk)
            flags = int(dut.error.value)
            if flags:
                causes, tiles = int(dut.cause.value), int(dut.error_tile.value)
                for lane in range(lanes):
                    if flags >> lane & 1:
                        errors.append(((causes >> (3 * lane)) & 7,
                                       (tiles >> (32 * lane)) & 0xFFFFFFFF))

    if case.get("reset"):
        junk = codec.encode(case["tensors"][0].flip(-1).contiguous(), cfg.replace(align=W // 8))
        jw, jl = lane_streams(junk, W, lanes)
        dut.o__ready.value = 1
        await bounded(dut, [shape_src.send([shape_item(case["tensors"][0])]),
                            len_src[0].send(jl[0][:1]), words_src[0].send(jw[0][:2])],
                      1000, "before the reset")
        for _ in range(10):
            await RisingEdge(dut.clk)
        await pulse_reset(dut)
        assert not dut.o__valid.value, "values still valid after the reset"
    cocotb.start_soon(monitor())
    configs = tensor_configs(case)
    active = cfg.qtable
    retable = case.get("retable")   # a step-table change between two tiles of tensor 0
    supplied = case.get("words")   # the hardware compressor's output (round trip)
    for t, (x, c) in enumerate(zip(case["tensors"], configs)):
        if c.qtable != active:
            await write_table(dut, c.qtable)
            active = c.qtable
        want = expected_values(x, c)
        split = None
        if supplied:
            words, lengths = supplied[t], case["lengths_in"][t]
        elif retable and t == 0:
            assert lanes == 1, "with 8 lanes the step table changes between tensors"
            k, new = retable["tile"], c.replace(qtable=tuple(retable["qtable"]))
            per_tile, n = spliced(x, c, new, k, W)
            split = k * c.tile_blocks * 64
            want = want[:split] + expected_values(x, new)[split:]
            words = [[w for tile in per_tile for w in tile]]
            lengths = [n]
            before = sum(len(tile) for tile in per_tile[:k])
        else:
            words, lengths = lane_streams(codec.encode(x, c.replace(align=W // 8)), W, lanes)
        bad_tile = None
        if case.get("corrupt") and t == 0:
            bad_tile = case["corrupt"]["tile"]
            lane, nth = bad_tile % lanes, bad_tile // lanes
            words[lane], lengths[lane] = corrupt(words[lane], lengths[lane], W, nth,
                                                 case["corrupt"]["how"],
                                                 random.Random(case["seed"]))
        count = len(want) // (8 if lanes > 1 else 1)
        errors.clear()
        sink.items = []

        async def feed():
            if split is None:
                await gather(*[s.send(w) for s, w in zip(words_src, words)],
                             *[s.send(n) for s, n in zip(len_src, lengths)])
                return
            await gather(words_src[0].send(words[0][:before]), len_src[0].send(lengths[0][:k]))
            # tile k - 1 out whole before the write; tile k's length not yet given
            await until(dut, lambda: len(sink.items) >= split)
            await write_table(dut, new.qtable)
            await gather(words_src[0].send(words[0][before:]), len_src[0].send(lengths[0][k:]))

        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        tasks = [shape_src.send([shape_item(x)]), feed(), sink.receive(count)]
        await bounded(dut, tasks, 60 * len(want) + 4000, f"tensor {t}")
        if split is not None:
            active = new.qtable
        for _ in range(4):  # an error strobe after the last value
            await RisingEdge(dut.clk)
        report["cycles"] += int((cocotb.utils.get_sim_time(unit="ns") - begin) // CLOCK_NS)
        report["seconds"] = report.get("seconds", 0) + time.monotonic() - wall
        got = unrow([unpack(out_fields, v, signed) for v in sink.items])
        report["errors"].append(list(errors))
        if bad_tile is None:
            assert errors == [], f"tensor {t}: error flags on a clean stream: {errors}"
            bad = first_value_mismatch(got, want, c.tile_blocks)
            assert bad is None, f"tensor {t}: {bad}"
        else:
            # the damaged tile: flagged, or (a flip that still decodes) different
            span = range(bad_tile * c.tile_blocks * 64,
                         min(len(want), (bad_tile + 1) * c.tile_blocks * 64))
            assert len(got) == len(want)
            others = [i for i in range(len(want)) if i not in span]
            bad = first_value_mismatch([got[i] for i in others], [want[i] for i in others],
                                       c.tile_blocks)
            assert bad is None, f"a tile other than the damaged {bad_tile}: {bad}"
            flagged = [tile for _, tile in errors]
            assert flagged in ([bad_tile], []), f"errors {errors}, damaged tile {bad_tile}"
            if not flagged:
                assert first_value_mismatch([got[i] for i in span], [want[i] for i in span],
                                            c.tile_blocks) is not None, \
                    "a damaged tile decoded to the golden values without an error"
        report.setdefault("coverage", []).append(coverage(x, c))
    report["stalled"] = sink.stalled
    report["gapped"] = sum(s.idle for s in words_src + len_src)
    save_report(case, report)
