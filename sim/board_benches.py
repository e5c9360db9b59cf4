"""cocotb bench of the board demo (:mod:`boards.demo`): the real host
program (``python -m boards host``) talks to the simulated board through a
pseudo-terminal; cocotbext-uart's ``UartSource`` and ``UartSink`` carry
the bytes between the terminal and the board's ``rx`` and ``tx`` pins.
So the hardware-against-golden comparison of a board runs without one.

The case gives the tensors; for each, the host's exit status and summary
(``--json``) are checked: both the stream and the reconstruction match
golden (exit 0). A case with ``host_args`` passes them on (``--step``)."""
import fcntl
import json
import os
import subprocess
import sys
import tty

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotbext.uart import UartSink, UartSource

from .benches import CLOCK_NS, load_case, save_report, start


def open_pty():
    """(master fd, slave path): raw, the master non-blocking."""
    master, slave = os.openpty()
    tty.setraw(slave)
    fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
    return master, slave


def board_state(dut):
    """The demo's sequencers and counters, for a failure message."""
    names = ("main_state", "send_state", "cycles_c", "cycles_d", "out_n", "shape_valid",
             "decompressor.words__valid", "decompressor.words__ready",
             "decompressor.lengths__valid", "decompressor.lengths__ready",
             "decompressor.lane.tiles__valid", "decompressor.lane.tiles__ready",
             "decompressor.walker.o__valid", "decompressor.lane.decoder.state",
             "decompressor.lane.decoder.left", "decompressor.lane.unpacker.o__count",
             "decompressor.lane.o__valid", "decompressor.o__ready$23",
             "decompressor.walker.fsm_state", "decompressor.walker.cur", "planes", "height", "width",
             "decompressor.walker.i__payload", "decompressor.walker.i__valid")
    out = []
    for n in names:
        h = dut
        try:
            for part in n.split("."):
                h = getattr(h, part) if "$" not in part else h._id(part, extended=False)
            out.append(f"{n} {h.value}")
        except (AttributeError, KeyError):
            pass
    return ", ".join(out)


@cocotb.test()
async def bench_board(dut):
    case = load_case()
    await start(dut, case["ports"])
    dut.rx.value = 1
    baud = 1e9 / (CLOCK_NS * case["divider"])
    source = UartSource(dut.rx, baud=baud, bits=8, stop_bits=1)
    sink = UartSink(dut.tx, baud=baud, bits=8, stop_bits=1)
    reports = []
    for n, x in enumerate(case["tensors"]):
        path = os.path.join(os.path.dirname(case["report"]), f"act{n}.npy")
        np.save(path, x.numpy())
        summary = path.replace(".npy", ".json")
        master, slave = open_pty()
        cmd = [sys.executable, "-m", "boards", "host", "--port", os.ttyname(slave), path,
               "--timeout", str(case.get("host_timeout", 300)), "--json", summary,
               *case.get("host_args", [])]
        host = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        cycles = 0
        try:
            while host.poll() is None:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = b""
                if data:
                    await source.write(data)
                while not sink.empty():
                    os.write(master, sink.read_nowait(sink.count()))
                await ClockCycles(dut.clk, 200)
                cycles += 200
                assert cycles < case.get("max_cycles", 5_000_000), \
                    f"the host never finished; the board: {board_state(dut)}"
        finally:
            if host.poll() is None:
                host.kill()
            out = host.communicate()[0]
            os.close(master)
            os.close(slave)
        dut._log.info("host:\n%s", out)
        assert host.returncode == 0, f"host exit {host.returncode} (want 0):\n{out}"
        with open(summary) as f:
            s = json.load(f)
        assert s["stream_match"] and s["reconstruction_match"], s["first_mismatch"]
        reports.append({"output": out, "exit": host.returncode, "cycles": cycles, "summary": s})
    save_report(case, {"cycles": sum(r["cycles"] for r in reports), "runs": reports})
