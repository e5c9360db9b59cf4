"""Build a top's Verilog, compile it for a simulator and run a cocotb
bench on it (``cocotb_tools.runner``)."""
import hashlib
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import torch

from hw.__main__ import config_dict

ROOT = Path(__file__).resolve().parent.parent
MODULES = {"compressor": "fmcodec_compressor", "decompressor": "fmcodec_decompressor",
           "compressor_dma": "fmcodec_compressor_dma",
           "decompressor_dma": "fmcodec_decompressor_dma", "board": "fmcodec_board"}
TEST_MODULES = {"compressor_dma": "sim.dma_benches",    # the rest: sim.benches
                "decompressor_dma": "sim.dma_benches", "board": "sim.board_benches"}
CLOCK_NS = 10   # the benches' clock period
#: the board demo in simulation: a fast UART and small memories
BOARD_SIM = {"divider": 8, "value_words": 1024, "data_words": 1024, "index_entries": 64}


class SimulatorMissing(RuntimeError):
    """The requested simulator is not installed (or too old)."""


def check_simulator(sim):
    """Raise SimulatorMissing with the reason when ``sim`` cannot run the
    benches here."""
    if sim == "icarus":
        if not shutil.which("iverilog") or not shutil.which("vvp"):
            raise SimulatorMissing("Icarus Verilog (iverilog, vvp) is not installed: run "
                                   "./fmc setup, or apt-get install iverilog")
        return
    if sim == "verilator":
        import re
        import subprocess
        if not shutil.which("verilator"):
            raise SimulatorMissing("Verilator is not installed")
        out = subprocess.run(["verilator", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"(\d+)\.(\d+)", out)
        if not m or (int(m.group(1)), int(m.group(2))) < (5, 36):
            raise SimulatorMissing(f"cocotb 2.x needs Verilator 5.036 or later, found "
                                   f"{out.strip() or 'an unknown version'}")
        return
    raise SimulatorMissing(f"unknown simulator {sim!r} (icarus or verilator)")


def build(top, config, dtype, word_width, lanes, lossy, work, sim="icarus", waves=False,
          interleaved=False):
    """Write the top's Verilog (once per parameter set) and compile it;
    ``interleaved``: the decompressor of :class:`hw.interleaved.InterleavedLane`.
    Returns (runner, module name, port fields, build directory)."""
    from amaranth.back import verilog
    from cocotb_tools.runner import get_runner

    from hw.__main__ import port_fields
    from hw.compressor import Compressor
    from hw.decompressor import Decompressor
    params = {"top": top, "config": config_dict(config), "dtype": dtype,
              "word_width": word_width, "lanes": lanes, "lossy": lossy, "sim": sim,
              "waves": waves, **({"interleaved": True} if interleaved else {})}
    # the gateware's source is part of the key: an edit rebuilds
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for src in sorted((ROOT / "hw").glob("*.py")) + sorted((ROOT / "boards").glob("*.py")) \
            + [Path(__file__)]:
        digest.update(src.read_bytes())
    key = digest.hexdigest()[:12]
    bdir = Path(work) / "build" / f"{top}-{key}"
    vfile, pfile = bdir / f"{top}.v", bdir / "ports.json"
    if not pfile.exists():
        bdir.mkdir(parents=True, exist_ok=True)
        if top == "board":
            from boards.demo import Demo
            dut = Demo(config, dtype, lossy=lossy, clock_hz=int(1e9 / CLOCK_NS), **BOARD_SIM)
        elif top.endswith("_dma"):
            from hw import dma
            cls = {"compressor_dma": dma.CompressorDMA, "decompressor_dma": dma.DecompressorDMA}
            dut = cls[top](config, dtype, word_width, lossy=lossy)
        elif interleaved:
            dut = Decompressor(config, dtype, word_width, lanes=lanes, lossy=False,
                               interleaved=True)
        else:
            cls = {"compressor": Compressor, "decompressor": Decompressor}[top]
            dut = cls(config, dtype, word_width, lanes=lanes, lossy=lossy)
        text = verilog.convert(dut, name=MODULES[top], emit_src=False)
        vfile.write_text(for_simulation(text))
        pfile.write_text(json.dumps(port_fields(dut)))
    runner = get_runner(sim)
    runner.build(sources=[vfile], hdl_toplevel=MODULES[top], build_dir=bdir,
                 timescale=("1ns", "1ps"), waves=waves, log_file=bdir / "build.log")
    return runner, MODULES[top], json.loads(pfile.read_text()), bdir


def for_simulation(text):
    """Amaranth writes combinational logic under ``if`` / ``case`` as
    ``always @*`` blocks, which an event-driven simulator does not run until
    one of their inputs changes: an output whose inputs keep their initial
    values stays X (amaranth-lang/amaranth#1629). Yosys gives each module a
    trigger register read by every such block, initialised to 0, which
    Icarus does not count as a change; setting it to 1 at 1 ns runs every
    block once. Synthesis reads the Verilog unchanged."""
    import re
    return re.sub(r"^(\s*)reg (\\\S+ ) = 0;$",
                  lambda m: f"{m.group(0)}\n{m.group(1)}initial #1 {m.group(2)}= 1'b1;",
                  text, flags=re.M)


@dataclass
class Result:
    name: str
    passed: bool
    message: str = ""
    seconds: float = 0.0
    cycles: int = 0
    report: dict = field(default_factory=dict)
    waves: str = ""
    case: dict = field(default_factory=dict)   # what the bench was asked to do


def run_bench(name, bench, tensors, config, dtype="uint8", word_width=32, lanes=1,
              lossy=True, seed=1, gaps=(0.0, 1), stalls=(0.0, 1), work="build/sim",
              sim="icarus", waves=False, interleaved=False, **options):
    """Run the cocotb bench ``bench`` (``compressor`` or ``decompressor``,
    in :mod:`sim.benches`) on ``tensors`` (the first one, then any more
    through the same simulation). ``options`` go to the bench's case
    (``reset``, ``tables``, ``corrupt``, ``words``, ``lengths_in``);
    ``interleaved`` builds the decompressor of interleaved lanes
    (lossless-only). Returns a :class:`Result`."""
    check_simulator(sim)
    from hw.compressor import lossy_build
    lossy = lossy_build(config, lossy) and not interleaved   # as the tops build it
    work = Path(work).resolve()
    t0 = time.monotonic()
    runner, module, ports, bdir = build(bench, config, dtype, word_width, lanes, lossy, work,
                                        sim, waves, interleaved)
    cdir = work / "cases" / name
    if cdir.exists():
        shutil.rmtree(cdir)
    cdir.mkdir(parents=True)
    paths = []
    for i, x in enumerate(tensors):
        paths.append(str(cdir / f"tensor{i}.pt"))
        torch.save(x, paths[-1])
    case = {"name": name, "config": config_dict(config), "dtype": dtype,
            "word_width": word_width, "lanes": lanes, "seed": seed, "gaps": list(gaps),
            "stalls": list(stalls), "tensors": paths, "ports": ports,
            "inputs": ["table"] if lossy else [],
            "report": str(cdir / "report.json"), **options}
    if bench == "board":
        case["divider"] = BOARD_SIM["divider"]
    (cdir / "case.json").write_text(json.dumps(case))
    # cocotb's pytest assertion rewriting hooks every import by default;
    # applied to torch it makes loading the bench several times slower
    env = {"FMC_SIM_CASE": str(cdir / "case.json"),
           "COCOTB_REWRITE_ASSERTION_FILES": "*benches.py",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    xml = runner.test(test_module=TEST_MODULES.get(bench, "sim.benches"), hdl_toplevel=module,
                      testcase=f"bench_{bench}", build_dir=bdir, test_dir=cdir, extra_env=env,
                      seed=seed, waves=waves,
                      results_xml=str(cdir / "results.xml"), log_file=cdir / "sim.log")
    passed, message = _outcome(xml)
    report = json.loads((cdir / "report.json").read_text()) if passed else {}
    wave = ""
    if waves:
        # Icarus dumps into the build directory, which cases share: move
        # the dump next to this case's log
        for dump in list(bdir.glob("*.fst")) + list(bdir.glob("*.vcd")):
            wave = str(cdir / f"{name}{dump.suffix}")
            shutil.move(dump, wave)
    case["bench"] = bench
    case["values"] = sum(x.numel() for x in tensors)
    return Result(name, passed, message, time.monotonic() - t0, report.get("cycles", 0),
                  report, wave, case)


def _outcome(xml):
    """(passed, failure message) from cocotb's JUnit results."""
    root = ET.parse(xml).getroot()
    cases = list(root.iter("testcase"))
    if not cases:
        return False, "the simulation ran no test (see sim.log)"
    for c in cases:
        for tag in ("failure", "error"):
            f = c.find(tag)
            if f is not None:
                return False, (f.get("message") or f.text or tag).strip()
    return True, ""
