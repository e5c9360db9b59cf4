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
from hw.bench import beats, expected_values, lane_streams, shape_item, unrow, value_items
from hw.testbench import corrupt

from .scoreboard import first_value_mismatch, first_word_mismatch
from .streams import Pattern, StreamSink, StreamSource, unpack

CLOCK_NS = 10


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
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0


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
    lengths = {}
    for n in length.tolist():
        lengths[n] = lengths.get(n, 0) + 1
    runs = {}
    if config.runs:
        # a run symbol r > 0 (r - 1 zeros) is followed by its level; 0 is EOB
        sym, j = u.tolist(), 0
        while j < len(sym):
            key = "eob" if sym[j] == 0 else sym[j] - 1
            runs[key] = runs.get(key, 0) + 1
            j += 2 if sym[j] != 0 else 1
    return {"codeword_lengths": lengths, "runs": runs}


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
    report = {"words": [], "lengths": [], "stalled": 0, "cycles": 0}
    if case.get("reset"):
        # part of a tensor, then a reset with words in flight: nothing may leak
        junk = beats(value_items(case["tensors"][0].flip(-1).contiguous()), lanes)
        await src.send(junk[:len(junk) // 3])
        for _ in range(20):
            await RisingEdge(dut.clk)
        await pulse_reset(dut)
        for p in lane_ports("o", lanes) + lane_ports("lengths", lanes):
            assert not getattr(dut, f"{p}__valid").value, f"{p} still valid after the reset"
    configs = [cfg] + [cfg.replace(qtable=tuple(q)) for q in case.get("tables", [])]
    for t, (x, c) in enumerate(zip(case["tensors"], configs)):
        if t and c.qtable != configs[t - 1].qtable:
            await write_table(dut, c.qtable)
        want_w, want_l = lane_streams(codec.encode(x, c.replace(align=W // 8)), W, lanes)
        items = beats(value_items(x), lanes)
        sinks = [StreamSink(dut, p, dut.clk, Pattern(*case["stalls"], rng.random()))
                 for p in lane_ports("o", lanes)]
        lsinks = [StreamSink(dut, p, dut.clk, Pattern(*case["stalls"], rng.random()))
                  for p in lane_ports("lengths", lanes)]
        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        tasks = [src.send(items)]
        tasks += [s.receive(len(w)) for s, w in zip(sinks, want_w)]
        tasks += [s.receive(len(n)) for s, n in zip(lsinks, want_l)]
        await bounded(dut, tasks, 40 * len(items) + 2000, f"tensor {t}")
        report["cycles"] += int((cocotb.utils.get_sim_time(unit="ns") - begin) // CLOCK_NS)
        report["seconds"] = report.get("seconds", 0) + time.monotonic() - wall
        for lane, (s, ls, w, n) in enumerate(zip(sinks, lsinks, want_w, want_l)):
            assert ls.items == n, (f"tensor {t}, lane {lane}: tile lengths {ls.items}, "
                                   f"golden {n}")
            bad = first_word_mismatch(s.items, w, n, W, lane if lanes > 1 else None, lanes)
            assert bad is None, f"tensor {t}: {bad}"
            report["stalled"] += s.stalled
        report["words"].append([s.items for s in sinks])
        report["lengths"].append([s.items for s in lsinks])
        report.setdefault("coverage", []).append(coverage(x, c))
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
    report = {"errors": [], "stalled": 0, "cycles": 0}
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
        await shape_src.send([shape_item(case["tensors"][0])])
        await len_src[0].send(jl[0][:1])
        await words_src[0].send(jw[0][:2])
        for _ in range(10):
            await RisingEdge(dut.clk)
        await pulse_reset(dut)
        assert not dut.o__valid.value, "values still valid after the reset"
    cocotb.start_soon(monitor())
    configs = [cfg] + [cfg.replace(qtable=tuple(q)) for q in case.get("tables", [])]
    supplied = case.get("words")   # the hardware compressor's output (round trip)
    for t, (x, c) in enumerate(zip(case["tensors"], configs)):
        if t and c.qtable != configs[t - 1].qtable:
            await write_table(dut, c.qtable)
        if supplied:
            words, lengths = supplied[t], case["lengths_in"][t]
        else:
            words, lengths = lane_streams(codec.encode(x, c.replace(align=W // 8)), W, lanes)
        bad_tile = None
        if case.get("corrupt") and t == 0:
            bad_tile = case["corrupt"]["tile"]
            lane, nth = bad_tile % lanes, bad_tile // lanes
            words[lane], lengths[lane] = corrupt(words[lane], lengths[lane], W, nth,
                                                 case["corrupt"]["how"],
                                                 random.Random(case["seed"]))
        want = expected_values(x, c)
        count = len(want) // (8 if lanes > 1 else 1)
        errors.clear()
        sink.items = []
        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        tasks = [shape_src.send([shape_item(x)])]
        tasks += [s.send(w) for s, w in zip(words_src, words)]
        tasks += [s.send(n) for s, n in zip(len_src, lengths)]
        tasks += [sink.receive(count)]
        await bounded(dut, tasks, 60 * len(want) + 4000, f"tensor {t}")
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
        report["stalled"] += sink.stalled
        report.setdefault("coverage", []).append(coverage(x, c))
    save_report(case, report)
