"""`edge doctor` on a real setup: the emulated BlueZ on a private D-Bus, a real Mosquitto, the
gateway's status file and outbox, the shipped models; healthy, then broken in every way a
technician meets, each problem with its fix."""

import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from edge.control.audit import AuditLog
from edge.demo.broker import LocalMosquitto, free_loopback_port
from edge.shipped import shipped_dir
from edge.sim.bluez import BluezEmulator
from edge.status_file import write_status
from tests.bluez.support import heart_rate_strap

ADDRESS = "A0:9E:1A:00:00:01"


def config(folder: Path, port: int, models: Path | None = None) -> Path:
    path = folder / "gw.toml"
    models_line = f'[detect.models]\ndir = "{models}"\n' if models else ""
    path.write_text(f"""
[gateway]
id = "gw-doc"
data_dir = "data"

[uplink]
port = {port}
plaintext = true

{models_line}
[[devices]]
id = "strap-01"
patient = "patient-0001"
link = "ble"
address = "{ADDRESS}"
profile = "generic_heart_rate"
""")
    return path


async def doctor(config_path: Path, bus: str) -> tuple[int, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge", "doctor", "--config", str(config_path), "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"DBUS_SYSTEM_BUS_ADDRESS": bus, "PATH": "/usr/bin:/bin"})
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert stderr.decode() == "", stderr
    assert process.returncode is not None
    return process.returncode, json.loads(stdout)


def by_check(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["check"]: finding for finding in result["findings"]}


def test_a_healthy_gateway_and_then_every_problem_with_its_fix(
    tmp_path: Path, system_bus: str,
) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap(ADDRESS))
            with LocalMosquitto() as broker:
                (tmp_path / "data").mkdir(mode=0o700)
                write_status(tmp_path / "data" / "status.json", {"devices": [
                    {"id": "strap-01", "connected": True, "last_data_at": time.time() - 5,
                     "battery_percent": 80}]})
                code, healthy = await doctor(config(tmp_path, broker.port), system_bus)
            assert code == 0 and healthy["healthy"], healthy
            checks = by_check(healthy)
            assert checks["adapter"]["severity"] == "ok"
            assert checks["device strap-01"]["detail"].endswith("battery 80 %")
            assert checks["broker"]["severity"] == "ok"
            assert checks["model af_ecg"]["severity"] == "ok"
            assert checks["audit log"]["detail"] == "no remote update yet"

            bluez.set_powered("hci0", False)
            write_status(tmp_path / "data" / "status.json", {"devices": [
                {"id": "strap-01", "connected": False, "last_data_at": time.time() - 7200,
                 "battery_percent": 9}]})
            models = tmp_path / "models"
            shutil.copytree(shipped_dir("models"), models)
            onnx = next((models / "af_rr").glob("*int8.tflite"))
            onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
            audit = tmp_path / "data" / "audit.log"
            AuditLog(audit).append({"kind": "config", "accepted": True})
            AuditLog(audit).append({"kind": "model", "accepted": False})
            audit.write_text(audit.read_text().replace("false", "true"))  # tampered
            code, sick = await doctor(config(tmp_path, free_loopback_port(), models),
                                      system_bus)
        assert code == 1 and not sick["healthy"]
        checks = by_check(sick)
        for check, said, fix in [
            ("adapter", "hci0 is powered off", "bluetoothctl power on"),
            ("device strap-01", "last data 120 min ago; battery 9 %", "wet the electrodes"),
            ("broker", "cannot connect", "check the network"),
            ("model af_rr", "sha256", "signed model update"),
            ("audit log", "breaks at line 2", "do not edit it"),
        ]:
            finding = checks[check]
            assert finding["severity"] == "problem", finding
            assert said in finding["detail"] and fix in finding["fix"], finding

    asyncio.run(asyncio.wait_for(scenario(), 300))

