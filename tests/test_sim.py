"""The cocotb benches on Icarus (python -m sim), a few cases under pytest;
`./fmc py -m sim` runs them all."""
import pytest

from sim.runner import SimulatorMissing, check_simulator

try:
    check_simulator("icarus")
    MISSING = None
except SimulatorMissing as e:
    MISSING = str(e)

needs_icarus = pytest.mark.skipif(MISSING is not None, reason=f"skipped: {MISSING}")


@needs_icarus
@pytest.mark.parametrize("name", ["compressor-dct2d-runs", "decompressor-pred",
                                  "decompressor-corrupt-truncate", "roundtrip-lossless"])
def test_case(name, tmp_path):
    from sim.cases import run
    results = run(name, seed=2, work=tmp_path)
    for r in results:
        assert r.passed, f"{r.name}: {r.message}"
        assert r.cycles > 0


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
