import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.demo import broker as broker_module
from edge.demo.broker import BrokerError, find_mosquitto


def edge(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_demo_shows_summaries_and_an_event_then_its_counts() -> None:
    result = edge("demo", "--seconds", "20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for device in ("strap-01", "oxi-01"):
        assert any(f" summary  {device} " in line for line in lines), result.stdout
    assert any("tachycardia started: heart rate " in line for line in lines), \
        result.stdout
    assert any("gateway demo-gateway is online" in line for line in lines)
    counts = lines[-1]
    assert counts.startswith("published ") and ", pending 0 " in counts, counts
    published = int(counts.split(",")[0].removeprefix("published "))
    acknowledged = int(counts.split(",")[1].removeprefix(" acknowledged "))
    # At least one summary and the event; how many summaries depends on where the 10 s
    # periods fall.
    assert published == acknowledged >= 2
    assert result.stderr == ""


def test_missing_mosquitto_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(broker_module, "_SEARCH_PATH", (str(tmp_path),))
    with pytest.raises(BrokerError, match="sudo apt-get install mosquitto"):
        find_mosquitto()


def test_run_with_a_bad_config_exits_2_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('[gateway]\nid = "gw"\n[[devices]]\nid = "a"\n')
    result = edge("run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{config}: devices[0].patient: missing, required"


def test_run_with_an_unwritable_data_dir_says_so(tmp_path: Path) -> None:
    # Nobody, root included, can make folders in /proc.
    config = tmp_path / "gw.toml"
    config.write_text('[gateway]\nid = "gw"\ndata_dir = "/proc/edge-test"\n'
                      '[uplink]\nplaintext = true\n')
    result = edge("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("edge: cannot create the outbox at /proc/edge-test/outbox.db")
    assert "Traceback" not in result.stderr


def test_run_with_a_data_dir_that_is_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config = tmp_path / "gw.toml"
    config.write_text(f'[gateway]\nid = "gw"\ndata_dir = "{blocker}"\n[uplink]\nplaintext = true\n')
    result = edge("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"edge: cannot create the outbox at {blocker}/outbox.db: {blocker} is not a folder")


def test_runtimes_lists_onnxruntime_and_the_litert_interpreter() -> None:
    result = edge("runtimes")
    assert result.returncode == 0, result.stderr
    assert "onnxruntime " in result.stdout and "not installed" not in result.stdout.split("\n")[0]
    assert "LiteRT interpreter: ai_edge_litert.interpreter.Interpreter" in result.stdout


def test_litert_falls_back_to_tflite_runtime(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    # A stand-in tflite_runtime package, with ai_edge_litert hidden, proves the import order;
    # the real tflite-runtime wheel needs NumPy 1 and is exercised with the models (issue 4).
    package = tmp_path / "tflite_runtime"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "interpreter.py").write_text("class Interpreter:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    from edge.inference import litert_interpreter_class

    assert litert_interpreter_class().__module__ == "tflite_runtime.interpreter"


def test_decode_prints_the_value_with_normalised_units() -> None:
    result = edge("decode", "2a37", "16 48 00 04")
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert value["heart_rate_bpm"] == 72
    assert value["rr_intervals_ms"] == [1000.0]


def test_decode_names_the_inconsistent_flag_and_exits_2() -> None:
    result = edge("decode", "2a37", "1048")
    assert result.returncode == 2
    assert result.stderr.strip() == ("edge decode: Heart Rate Measurement: RR interval: flag 0x10 "
                                     "set but no RR bytes follow")


def test_decode_all_writes_one_line_per_input_line_and_an_error_for_each_bad_one() -> None:
    lines = "2a37 06 48\n2a19 65\nnonsense\n2a1c 00 6e 01 00 ff\n2a35 zz\n"
    result = subprocess.run([sys.executable, "-m", "edge", "decode", "--all"], input=lines,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [sorted(o)[0] if "error" in o else o["characteristic"] for o in out] == [
        "Heart Rate Measurement", "error", "error", "Temperature Measurement", "error"]
    assert out[1]["error"] == "Battery Level: battery level: 101 % is above 100 %"
    assert out[3]["temperature_celsius"] == 36.6
    assert "hexadecimal" in out[4]["error"]


def test_bench_decode_reports_every_figure_with_its_machine() -> None:
    result = edge("bench", "decode", "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["benchmark"] == "decode" and figures["date"] and figures["processor"]
    heart_rate = figures["heart_rate_measurement"]
    assert heart_rate["edge_per_s"] > 0 and heart_rate["bare_struct_per_s"] > 0
    assert figures["polar_ecg_frames"]["edge_per_s"] > 0
