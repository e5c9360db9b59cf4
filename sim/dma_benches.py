"""cocotb benches of the DRAM side (:mod:`hw.dma`): cocotbext-axi's
``AxiRamWrite`` / ``AxiRamRead`` as DRAM, with random pauses on every
channel, and its ``AxiLiteMaster`` on the registers. Checked against
:mod:`golden.dma`: the bytes of every tile and of the index, the bytes the
strobes must leave alone, each burst's address and length, the values
of every tile range read back, and the status counters."""
import random
import time

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiRamRead, AxiRamWrite, AxiReadBus,
                           AxiWriteBus)

from golden import codec
from golden import dma as golden_dma
from hw import dma as regs
from hw.bench import expected_values, shape_item, value_items

from .benches import CLOCK_NS, bounded, load_case, save_report, start, tensor_configs
from .scoreboard import first_value_mismatch
from .streams import Pattern, StreamSink, StreamSource, unpack

FILL = 0xA5   # DRAM before the run: padding bytes must keep it


class Refusing:
    """A cocotbext-axi RAM model that answers SLVERR for accesses into
    ``bad`` (start, end) byte ranges (the model turns an exception from
    its ``_write`` / ``_read`` into SLVERR), storing or giving nothing."""

    def __init__(self, *args, bad=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.bad = [tuple(b) for b in bad]

    def check(self, address, what):
        if any(lo <= address < hi for lo, hi in self.bad):
            raise ValueError(f"{what} {address:#x} refused")


class Dram(Refusing, AxiRamWrite):
    async def _write(self, address, data):
        self.check(address, "write to")
        await super()._write(address, data)


class ReadDram(Refusing, AxiRamRead):
    async def _read(self, address, length):
        self.check(address, "read of")
        return await super()._read(address, length)


def memory_side(dut, case, rng, ram_cls, bus_cls, channels):
    """The DRAM model on ``mem`` (its ``channels`` pausing at the case's
    rate) and the AXI4-Lite master on ``ctl``."""
    ram = ram_cls(bus_cls.from_prefix(dut, "mem", bus_separator="__"), dut.clk, dut.rst,
                  size=case["dram_bytes"], bad=case.get("bad", ()))
    for ch in channels:
        ch = getattr(ram, f"{ch}_channel")
        ch.set_pause_generator(pauses(case["dram_pauses"], rng.random()))
    ctl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "ctl", bus_separator="__"), dut.clk,
                        dut.rst)
    return ram, ctl


async def done_status(ctl):
    """STATUS, polled until DONE."""
    while True:
        status = await ctl.read_dword(regs.STATUS)
        if status & regs.DONE:
            return status


def pauses(rate, seed):
    rng = random.Random(seed)
    while True:
        yield rng.random() < rate


async def watch(dut, ch, seen):
    """Record ``(address, beats)`` of every transfer on the AW or AR
    channel ``ch``."""
    valid, ready = getattr(dut, f"mem__{ch}valid"), getattr(dut, f"mem__{ch}ready")
    addr, length = getattr(dut, f"mem__{ch}addr"), getattr(dut, f"mem__{ch}len")
    while True:
        await RisingEdge(dut.clk)
        if int(valid.value) and int(ready.value):
            seen.append((int(addr.value), int(length.value) + 1))


@cocotb.test()
async def bench_compressor_dma(dut):
    """Values in; DRAM holds the golden tiles and index, written in the
    golden bursts; STATUS and the counters agree."""
    case = load_case()
    cfg, W = case["config"], case["word_width"]
    nb = W // 8
    await start(dut, [])
    rng = random.Random(case["seed"])
    size = case["dram_bytes"]
    ram, ctl = memory_side(dut, case, rng, Dram, AxiWriteBus, ("aw", "w", "b"))
    ram.write(0, bytes([FILL]) * size)
    seen = []
    cocotb.start_soon(watch(dut, "aw", seen))
    src = StreamSource(dut, "i", dut.clk, case["ports"]["i__payload"],
                       Pattern(*case["gaps"], rng.random()))
    info = await ctl.read_dword(regs.INFO)
    assert info == nb | 1 << 8 | cfg.tile_blocks << 16, f"INFO {info:#x}"
    report = {"cycles": 0, "tensors": []}
    active = cfg.qtable
    for t, (x, c) in enumerate(zip(case["tensors"], tensor_configs(case))):
        data_base, index_base = case["bases"][t]
        enc = codec.encode(x, c.replace(align=nb))
        assert data_base + enc.offsets[-1] <= index_base or \
            index_base + 8 * len(enc.tile_lengths) <= data_base, "the case's regions overlap"
        if c.qtable != active:
            for p, q in enumerate(c.qtable):
                await ctl.write_dword(regs.STEPS + 4 * p, q)
            active = c.qtable
        await ctl.write_dword(regs.DATA_BASE, data_base)
        await ctl.write_dword(regs.INDEX_BASE, index_base)
        seen.clear()
        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        await ctl.write_dword(regs.CTRL, regs.START)
        assert await ctl.read_dword(regs.STATUS) & regs.BUSY, "not BUSY after START"
        items = value_items(x)
        waiter = cocotb.start_soon(done_status(ctl))
        await bounded(dut, [src.send(items), waiter], 60 * len(items) + 5000, f"tensor {t}")
        status = waiter.result()
        report["cycles"] += int((cocotb.utils.get_sim_time(unit="ns") - begin) // CLOCK_NS)
        report["seconds"] = report.get("seconds", 0) + time.monotonic() - wall
        tiles = len(enc.tile_lengths)
        want_data, want_index = golden_dma.write_bursts(enc, data_base, index_base, nb)
        counters = {name: await ctl.read_dword(getattr(regs, name))
                    for name in ("TILES", "DATA_BYTES", "BURSTS", "VALUES")}
        report["tensors"].append({"status": status, **counters, "bursts": list(seen)})
        if any(data_base <= lo < data_base + enc.offsets[-1] for lo, _ in case.get("bad", ())):
            # refused writes: reported, and the run still ends
            assert status == regs.DONE | regs.BUS_ERROR | 2 << 4, \
                f"tensor {t}: STATUS {status:#x}, expected DONE, BUS_ERROR and SLVERR"
            continue
        assert status == regs.DONE, f"tensor {t}: STATUS {status:#x}, expected DONE alone"
        assert counters == {"TILES": tiles, "DATA_BYTES": enc.offsets[-1],
                            "BURSTS": len(want_data) + len(want_index),
                            "VALUES": len(items)}, f"tensor {t}: counters {counters}"
        in_index = [index_base <= a < index_base + 8 * tiles for a, _ in seen]
        for what, got_b, want_b in (
                ("data", [b for b, i in zip(seen, in_index) if not i], want_data),
                ("index", [b for b, i in zip(seen, in_index) if i], want_index)):
            n = next((n for n, (g, w) in enumerate(zip(got_b, want_b)) if g != w),
                     min(len(got_b), len(want_b)))
            assert got_b == want_b, (f"tensor {t}: {what} burst {n} of {len(want_b)}: "
                                     f"{got_b[n:n + 3]}, golden {want_b[n:n + 3]}")
        for n, (addr, raw) in enumerate(golden_dma.data_writes(enc, data_base)):
            got_bytes = ram.read(addr, len(raw))
            assert got_bytes == raw, f"tensor {t}, tile {n} at {addr:#x}: DRAM differs"
            pad = enc.offsets[n + 1] - enc.offsets[n] - len(raw)
            assert ram.read(addr + len(raw), pad) == bytes([FILL]) * pad, \
                f"tensor {t}, tile {n}: padding bytes written (strobes)"
        index = ram.read(index_base, 8 * tiles)
        assert index == golden_dma.index_bytes(enc), f"tensor {t}: index differs"
        assert golden_dma.parse_index(index, tiles)[-1] == (enc.offsets[-2], enc.tile_lengths[-1])
    if case.get("dump"):   # the DRAM image, for a DecompressorDMA bench
        with open(case["dump"], "wb") as f:
            f.write(ram.read(0, size))
    save_report(case, report)


@cocotb.test()
async def bench_decompressor_dma(dut):
    """DRAM holds a compressed tensor (the golden layout, or the image a
    CompressorDMA bench left); tile ranges in random order are read and
    decoded: the golden values of those tiles, the golden read bursts, the
    counters; bad ranges are refused."""
    case = load_case()
    cfg, W = case["config"], case["word_width"]
    nb = W // 8
    await start(dut, [])
    rng = random.Random(case["seed"])
    ram, ctl = memory_side(dut, case, rng, ReadDram, AxiReadBus, ("ar", "r"))
    x = case["tensors"][0]
    enc = codec.encode(x, cfg.replace(align=nb))
    data_base, index_base = case["bases"][0]
    if case.get("image"):
        with open(case["image"], "rb") as f:
            ram.write(0, f.read())
    else:
        ram.write(data_base, enc.payload)
        ram.write(index_base, golden_dma.index_bytes(enc))
    seen = []
    cocotb.start_soon(watch(dut, "ar", seen))
    sink = StreamSink(dut, "o", dut.clk, Pattern(*case["stalls"], rng.random()))
    signed = ("data",) if case["dtype"] == "int8" else ()
    shape = shape_item(x)
    for name, value in (("DATA_BASE", data_base), ("INDEX_BASE", index_base),
                        ("PLANES", shape["planes"]), ("HEIGHT", shape["height"]),
                        ("WIDTH", shape["width"])):
        await ctl.write_dword(getattr(regs, name), value)
    tiles = len(enc.tile_lengths)
    # refused ranges first: nothing starts
    for first, count in ((0, 0), (tiles - 1, 2), (tiles, 1)):
        await ctl.write_dword(regs.FIRST, first)
        await ctl.write_dword(regs.COUNT, count)
        await ctl.write_dword(regs.CTRL, regs.START)
        status = await ctl.read_dword(regs.STATUS)
        assert status == regs.RANGE_ERROR, f"range {first}+{count}: STATUS {status:#x}"
    report = {"cycles": 0, "requests": []}
    for first, count in case["ranges"]:
        want = expected_values(x, cfg, first, count)
        await ctl.write_dword(regs.FIRST, first)
        await ctl.write_dword(regs.COUNT, count)
        seen.clear()
        sink.items = []
        begin, wall = cocotb.utils.get_sim_time(unit="ns"), time.monotonic()
        await ctl.write_dword(regs.CTRL, regs.START)
        waiter = cocotb.start_soon(done_status(ctl))
        await bounded(dut, [sink.receive(len(want)), waiter], 80 * len(want) + 5000,
                      f"tiles {first}+{count}")
        status = waiter.result()
        cycles = int((cocotb.utils.get_sim_time(unit="ns") - begin) // CLOCK_NS)
        report["cycles"] += cycles
        report["seconds"] = report.get("seconds", 0) + time.monotonic() - wall
        counters = {n: await ctl.read_dword(getattr(regs, n))
                    for n in ("TILES", "DATA_BYTES", "BURSTS", "VALUES")}
        report["requests"].append({"first": first, "count": count, "status": status,
                                   "cycles": cycles, **counters})
        plan = golden_dma.read_plan(enc, data_base, index_base, first, count, nb)
        refused = any(lo < a + b * nb and a < hi for _, a, b in plan
                      for lo, hi in case.get("bad", ()))
        if refused:
            assert status & regs.BUS_ERROR and status & regs.DONE and (status >> 4) & 3 == 2, \
                f"tiles {first}+{count}: STATUS {status:#x}, expected DONE, BUS_ERROR, SLVERR"
            assert counters["VALUES"] == len(want)
            continue
        if status & regs.DECODE_ERROR:
            tile, why = (await ctl.read_dword(regs.ERROR_TILE),
                         await ctl.read_dword(regs.ERROR_CAUSE))
            raise AssertionError(f"tiles {first}+{count}: decode error (cause {why}) in tile "
                                 f"{tile}; reads {seen[:6]}")
        assert status == regs.DONE, f"tiles {first}+{count}: STATUS {status:#x}"
        got = [unpack(case["ports"]["o__payload"], v, signed) for v in sink.items]
        bad = first_value_mismatch(got, want, cfg.tile_blocks)
        assert bad is None, f"tiles {first}+{count}: {bad} (value 0 is tile {first}'s first)"
        assert seen == [(a, b) for _, a, b in plan], \
            f"tiles {first}+{count}: reads {seen[:6]}, golden {plan[:6]}"
        assert counters == {"TILES": count,
                            "DATA_BYTES": enc.offsets[first + count] - enc.offsets[first],
                            "BURSTS": len(plan), "VALUES": len(want)}, counters
    save_report(case, report)
