"""The cocotb benches on Icarus (python -m sim), a few cases under pytest;
`./fmc py -m sim` runs them all."""
import json

import pytest

from sim.cases import CASES, run
from sim.runner import SimulatorMissing, check_simulator

try:
    check_simulator("icarus")
    MISSING = None
except SimulatorMissing as e:
    MISSING = str(e)

needs_icarus = pytest.mark.skipif(MISSING is not None, reason=f"skipped: {MISSING}")


@needs_icarus
@pytest.mark.parametrize("name", list(CASES))
def test_case(name, tmp_path):
    """Every named case (seed 2; ``python -m sim`` defaults to seed 1)."""
    results = run(name, seed=2, work=tmp_path)
    for r in results:
        assert r.passed, f"{r.name}: {r.message}"
        assert r.cycles > 0


@needs_icarus
def test_cli_summary_coverage_and_waves(tmp_path):
    """``python -m sim CASE --waves``: a pass line, the coverage summary
    (with its holes named), and an FST dump next to the case's log."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "sim", "compressor-none-zigzag", "--waves",
                        "--work", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS compressor-none-zigzag" in r.stdout
    assert "Functional coverage: 1 bench runs, 1,197 values" in r.stdout
    assert "  transform         none 1   (not hit: dct1d, dct2d, pred)" in r.stdout
    assert "  scan              zigzag 1   (not hit: raster, column)" in r.stdout
    assert "1 passed, 0 failed (seed 1, icarus)" in r.stdout
    dump = tmp_path / "cases" / "compressor-none-zigzag" / "compressor-none-zigzag.fst"
    assert dump.stat().st_size > 1000
    assert f"waves: {dump}" in r.stdout
    cov = json.loads((tmp_path / "coverage.json").read_text())
    assert cov["features"]["order rule"] == {"fixed": 1}


def test_verilator_needs_a_new_enough_version():
    """Verilator is optional: absent or older than 5.036, it is refused with
    the reason (and the benches use Icarus)."""
    import shutil
    if shutil.which("verilator") is None:
        with pytest.raises(SimulatorMissing, match="not installed"):
            check_simulator("verilator")
    else:
        try:
            check_simulator("verilator")
        except SimulatorMissing as e:
            assert "5.036" in str(e)


def test_cli_rejects_an_unknown_case():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "sim", "no-such-case"], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert "no case matches no-such-case" in r.stderr
