"""Running as a service: the hardened systemd unit, readiness and the watchdog over
$NOTIFY_SOCKET, JSON logs that never hold a measured value or a secret, and Prometheus
metrics."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.demo.broker import LocalMosquitto, free_loopback_port
from tests.conftest import Subscriber
from tests.gateway_process import write_config

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "etc" / "systemd" / "edge-gateway.service"


def verify(unit_text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    unit = folder / "edge-gateway.service"
    unit.write_text(unit_text.replace("/opt/edge/.venv/bin/edge",
                                      str(Path(sys.executable).with_name("edge"))))
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_the_unit_is_valid_hardened_and_watched(tmp_path: Path) -> None:
    text = UNIT.read_text()
    result = verify(text, tmp_path)
    assert result.returncode == 0, result.stderr
    for setting in ("Type=notify", "WatchdogSec=30", "Restart=always", "User=edge",
                    "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n",
                    "--log-format json"):
        assert setting in text, setting
    broken = verify(text.replace("Type=notify", "Type=notifyy"), tmp_path)
    assert "Failed to parse service type" in broken.stderr  # the check can fail


def test_ready_watchdog_json_logs_and_metrics_of_a_running_gateway(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(30)
    metrics_port = free_loopback_port()
    config = write_config(tmp_path / "gw.toml", broker.port, malformed_every=4,
                          episodes="[[devices.simulation.episodes]]\nstart_s = 1\n"
                                   "duration_s = 20\nbpm = 150\nramp_s = 0.5\n",
                          extra=f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "--log-format", "json", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "2000000",
             "PATH": "/usr/sbin:/usr/bin:/bin"})
    try:
        states = [listener.recv(1024).decode() for _ in range(2)]
        assert states[0].startswith("READY=1") and states[1] == "WATCHDOG=1"
        subscriber.wait_for(lambda s: bool(s.of_schema("edge.event")), 30, "the tachycardia")
        time.sleep(2)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                    timeout=10) as response:
            scraped = response.read().decode()
        status_file = tmp_path / "data" / "status.json"
        status = json.loads(status_file.read_text())
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
        listener.close()
    assert process.returncode == 0 and stderr == ""
    # The status for `edge doctor`: the device's link and last data, for its user alone.
    (device,) = status["devices"]
    assert device["id"] == "strap-01" and device["connected"]
    assert time.time() - device["last_data_at"] < 30
    assert status_file.stat().st_mode & 0o777 == 0o600
    values = {sample.name: sample.value for family in text_string_to_metric_families(scraped)
              for sample in family.samples if not sample.labels}
    assert values["edge_notifications_total"] > 0 and values["edge_decode_errors_total"] > 0
    assert values["edge_detector_events_total"] >= 1 and values["edge_devices_connected"] == 1
    assert values["edge_acknowledged_total"] > 0
    records = [json.loads(line) for line in stdout.splitlines()]
    assert {"ts", "level", "logger", "msg"} <= set(records[0])
    assert any("bad packet of" in r["msg"] for r in records)  # the malformed ones were logged
    event = subscriber.of_schema("edge.event")[0]
    key = (tmp_path / "data" / "outbox.key").read_bytes()
    for forbidden in (str(event["extreme"]["value"]), "beats/min", "bpm", key.hex(),
                      "BEGIN", "explanation", str(event["limit"]["value"])):
        assert forbidden not in stdout, forbidden
