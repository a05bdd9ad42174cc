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
    assert any(" summary  strap-01 " in line for line in lines), result.stdout
    assert any("heart rate above 120 bpm started" in line for line in lines), result.stdout
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
    config.write_text('[gateway]\nid = "gw"\ndata_dir = "/proc/edge-test"\n')
    result = edge("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("edge: cannot create the outbox at /proc/edge-test/outbox.db")
    assert "Traceback" not in result.stderr


def test_run_with_a_data_dir_that_is_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config = tmp_path / "gw.toml"
    config.write_text(f'[gateway]\nid = "gw"\ndata_dir = "{blocker}"\n')
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
