"""``python -m sim [TEST ...] [--waves] [--seed N] [--sim icarus|verilator]``:
run the cocotb benches on the tops' Verilog and print a summary."""
import argparse
import json
import sys
from pathlib import Path

from . import coverage
from .cases import CASES, run
from .runner import SimulatorMissing, check_simulator


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m sim",
        description="Run fmcodec's cocotb benches: the Verilog of the Compressor and "
                    "Decompressor (python -m hw verilog) simulated by Icarus Verilog, checked "
                    "against the golden model, with random bursty gaps and back-pressure. "
                    "Cases: " + ", ".join(CASES))
    p.add_argument("tests", nargs="*", metavar="TEST",
                   help="cases to run, or prefixes of their names (default: all)")
    p.add_argument("--seed", type=int, default=1, help="stimulus seed (default: %(default)s)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                   help="simulator (default: %(default)s; Verilator needs 5.036 or later)")
    p.add_argument("--waves", action="store_true",
                   help="write waveforms (FST from Icarus) next to each case's log")
    p.add_argument("--work", default="build/sim", help="build directory (default: %(default)s)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.list:
        print("\n".join(CASES))
        return 0
    names = [n for n in CASES if not a.tests or any(n.startswith(t) for t in a.tests)]
    if not names:
        print(f"python -m sim: error: no case matches {' '.join(a.tests)}; "
              f"the cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    try:
        check_simulator(a.sim)
    except SimulatorMissing as e:
        print(f"python -m sim: error: {e}", file=sys.stderr)
        return 2
    results = []
    for n in names:
        for r in run(n, a.seed, a.work, a.sim, a.waves):
            results.append(r)
            status = "PASS" if r.passed else "FAIL"
            secs = r.report.get("seconds")
            rate = f" ({r.cycles / secs:,.0f} cycles/s simulated with the bench)" if secs else ""
            print(f"{status} {r.name}: {r.cycles} cycles{rate}, {r.seconds:.1f} s in all"
                  + (f"\n     {r.message}" if r.message else "")
                  + (f"\n     waves: {r.waves}" if r.waves else ""), flush=True)
    cov = coverage.collect([r for r in results if r.passed])
    print("\n".join(coverage.summary(cov)))
    path = Path(a.work) / "coverage.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cov, indent=1, default=str))
    print(f"(coverage of the passing runs; counters in {path})")
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed (seed {a.seed}, {a.sim})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
