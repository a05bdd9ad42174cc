"""`edge doctor`: everything a technician checks, each with what is wrong and how to fix it.

Checks: the config; BlueZ (its version and the adapter, on the system D-Bus); connection slots;
each device's last data and battery (from the running gateway's status file); the clock's
synchronisation; the outbox (backlog, oldest message, disk budget, dead letters); the broker
(reachable, TLS accepted) and the certificates' dates; the models' integrity; the remote-update
audit log's hash chain.
"""

import asyncio
import dataclasses
import datetime as dt
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from edge.config import Config
from edge.profiles import profiles_for
from edge.shipped import shipped_dir
from edge.status_file import STATUS_FILE, read_status
from edge.typed_toml import ConfigError

Severity = Literal["ok", "warning", "problem"]
_MIN_BLUEZ = (5, 55)
_STALE_DATA_S = 15 * 60
_LOW_BATTERY_PERCENT = 20
_OLD_BACKLOG_S = 3600
_CERT_WARNING_DAYS = 30


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    detail: str
    fix: str = ""


def examine(config: Config, now: float | None = None) -> list[Finding]:
    """Every check, in the order a technician would go through them."""
    now = time.time() if now is None else now
    checks: list[Callable[[], Iterator[Finding]]] = [
        lambda: _config(config), _bluez_version, lambda: _adapter(config),
        lambda: _slots(config), lambda: _devices(config, now), _clock,
        lambda: _outbox(config, now), lambda: _broker(config, now), lambda: _models(config),
        lambda: _audit(config)]
    findings = []
    for check in checks:
        try:
            findings += list(check())
        except Exception as error:  # a check that breaks is itself a finding, never a crash
            findings.append(Finding("doctor", "problem", f"a check failed: "
                                    f"{type(error).__name__}: {error}"))
    return findings


def healthy(findings: list[Finding]) -> bool:
    return all(f.severity != "problem" for f in findings)


def report(findings: list[Finding]) -> str:
    marks = {"ok": "ok     ", "warning": "WARNING", "problem": "PROBLEM"}
    lines = []
    for finding in findings:
        lines.append(f"{marks[finding.severity]}  {finding.check}: {finding.detail}")
        if finding.fix:
            lines.append(f"         fix: {finding.fix}")
    verdict = "healthy" if healthy(findings) else "NOT healthy"
    lines.append(f"\nThis gateway is {verdict}.")
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> dict[str, Any]:
    return {"healthy": healthy(findings), "findings": [dataclasses.asdict(f) for f in findings]}


def _config(config: Config) -> Iterator[Finding]:
    from edge.uplink.tls import client_context

    try:
        profiles_for(config)
        client_context(config)
    except ConfigError as error:
        yield Finding("config", "problem", "; ".join(error.errors),
                      f"edit {config.source}; `edge config check` lists every error")
        return
    yield Finding("config", "ok", f"{config.source}: {len(config.devices)} device(s)")


def _bluez_version() -> Iterator[Finding]:
    tool = shutil.which("bluetoothctl")
    if tool is None:
        yield Finding("bluez", "warning", "bluetoothctl not found, BlueZ version unknown",
                      "sudo apt-get install bluez")
        return
    output = subprocess.run([tool, "--version"], capture_output=True, text=True,
                            timeout=10).stdout.split()
    version = output[-1] if output else "?"
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if len(parts) == 2 and parts < _MIN_BLUEZ:
        yield Finding("bluez", "problem", f"BlueZ {version} is older than 5.55",
                      "upgrade the OS (Debian 12 / Raspberry Pi OS bookworm ship 5.66)")
    else:
        yield Finding("bluez", "ok", f"BlueZ {version}")


def _adapter(config: Config) -> Iterator[Finding]:
    if not any(d.link == "ble" for d in config.devices):
        yield Finding("adapter", "ok", "no Bluetooth devices configured")
        return
    try:
        state = asyncio.run(_adapter_state(config.ble.adapter))
    except Exception as error:
        yield Finding("adapter", "problem", f"cannot ask bluetoothd: {type(error).__name__}: "
                      f"{error}", "sudo systemctl start bluetooth; is the gateway user in the "
                      "bluetooth group?")
        return
    if state is None:
        yield Finding("adapter", "problem", f"no adapter {config.ble.adapter}",
                      "plug in the USB Bluetooth adapter (on an extension cable), or set "
                      "ble.adapter")
    elif not state:
        yield Finding("adapter", "problem", f"{config.ble.adapter} is powered off",
                      "bluetoothctl power on (and check rfkill: sudo rfkill unblock "
                      "bluetooth)")
    else:
        yield Finding("adapter", "ok", f"{config.ble.adapter} is powered")


async def _adapter_state(adapter: str) -> bool | None:
    """Whether the adapter is powered; None when bluetoothd has no such adapter."""
    from dbus_fast import BusType, Message
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(Message(destination="org.bluez", path="/",
                                       interface="org.freedesktop.DBus.ObjectManager",
                                       member="GetManagedObjects"))
    finally:
        bus.disconnect()
    if reply is None or reply.body is None or not reply.body:
        raise RuntimeError("no answer from org.bluez")
    interfaces = reply.body[0].get(f"/org/bluez/{adapter}")
    if interfaces is None or "org.bluez.Adapter1" not in interfaces:
        return None
    return bool(interfaces["org.bluez.Adapter1"]["Powered"].value)


def _slots(config: Config) -> Iterator[Finding]:
    devices = sum(d.link == "ble" for d in config.devices)
    slots = config.ble.connection_slots
    if devices > slots:
        yield Finding("slots", "problem", f"{devices} Bluetooth devices, {slots} connection "
                      "slots: some would never connect", "add a second adapter, or raise "
                      "ble.connection_slots if the controller allows it")
    else:
        yield Finding("slots", "ok", f"{devices} of {slots} connection slots used")


def _devices(config: Config, now: float) -> Iterator[Finding]:
    path = config.data_path / STATUS_FILE
    status = read_status(path)
    if status is None:
        yield Finding("devices", "warning", f"no status from a running gateway ({path})",
                      "start the gateway: sudo systemctl start edge-gateway")
        return
    known = {d["id"]: d for d in status.get("devices", [])}
    for device in config.devices:
        yield _device_finding(device.id, known.get(device.id, {}), now)


def _device_finding(device_id: str, status: dict[str, Any], now: float) -> Finding:
    last = status.get("last_data_at")
    battery = status.get("battery_percent")
    battery_text = "battery unknown" if battery is None else f"battery {battery} %"
    if last is None:
        return Finding(f"device {device_id}", "problem", f"no data yet; {battery_text}",
                       "put the device on, close by, and check that it is charged")
    age = now - float(last)
    if age > _STALE_DATA_S:
        return Finding(f"device {device_id}", "problem",
                       f"last data {age / 60:.0f} min ago; {battery_text}",
                       "wet the electrodes or put the sensor back on; charge it; bring it "
                       "within a few metres of the gateway")
    if battery is not None and battery < _LOW_BATTERY_PERCENT:
        return Finding(f"device {device_id}", "warning", f"last data {age:.0f} s ago; "
                       f"{battery_text}", "charge the device or change its battery")
    return Finding(f"device {device_id}", "ok", f"last data {age:.0f} s ago; {battery_text}")


def _clock() -> Iterator[Finding]:
    tool = shutil.which("timedatectl")
    if tool is None:
        yield Finding("clock", "warning", "timedatectl not found: synchronisation unknown",
                      "install systemd-timesyncd or chrony")
        return
    result = subprocess.run([tool, "show", "-p", "NTPSynchronized", "--value"],
                            capture_output=True, text=True, timeout=10)
    if result.stdout.strip() == "yes":
        yield Finding("clock", "ok", "synchronised (NTP)")
    else:
        yield Finding("clock", "warning", "not known to be synchronised: event times may be "
                      "off", "sudo timedatectl set-ntp true; check the network")


def _outbox(config: Config, now: float) -> Iterator[Finding]:
    path = config.data_path / "outbox.db"
    if not path.exists():
        yield Finding("outbox", "ok", "empty (not created yet)")
        return
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        count, size, oldest = db.execute(
            "SELECT count(*), coalesce(sum(length(payload) + length(topic)), 0), "
            "min(created_at) FROM message").fetchone()
        dead = db.execute("SELECT count(*) FROM dead_letter").fetchone()[0]
    budget = config.outbox.max_mb * 1e6
    detail = (f"{count} waiting, {size / 1e6:.1f} of {config.outbox.max_mb:g} MB"
              + (f", oldest {(now - oldest) / 60:.0f} min" if oldest else ""))
    if dead:
        yield Finding("outbox", "warning", f"{detail}; {dead} dead letter(s)",
                      "the broker refuses some messages: check its ACL for this gateway")
    elif size > 0.8 * budget:
        yield Finding("outbox", "problem", f"{detail}: close to its budget",
                      "restore the network or the broker; the oldest summaries go first")
    elif oldest and now - oldest > _OLD_BACKLOG_S:
        yield Finding("outbox", "warning", f"{detail}: a backlog", "check the broker and "
                      "the network (see the broker check)")
    else:
        yield Finding("outbox", "ok", detail)


def _broker(config: Config, now: float) -> Iterator[Finding]:
    from edge.uplink.tls import certificate_problems, client_context, probe

    where = f"{config.uplink.host}:{config.uplink.port}"
    context = client_context(config)
    if context is None:
        reason = _tcp_probe(config.uplink.host, config.uplink.port)
    else:
        reason = probe(config.uplink.host, config.uplink.port, context)
    if reason:
        yield Finding("broker", "problem", f"{where}: {reason}",
                      "check the network, the broker address and port, and the certificates")
    else:
        yield Finding("broker", "ok", f"{where} reachable"
                      + ("" if context is None else " over mutual TLS"))
    if context is None:
        return
    soon = dt.datetime.fromtimestamp(now, dt.UTC) + dt.timedelta(days=_CERT_WARNING_DAYS)
    for key in ("ca_file", "cert_file"):
        name = getattr(config.uplink.tls, key)
        if not name:
            continue
        path = config.base_dir / name
        problems = certificate_problems(path, dt.datetime.fromtimestamp(now, dt.UTC))
        if problems:
            yield Finding(f"certificate {key}", "problem", problems[0],
                          "install a renewed certificate from the care team")
        elif certificate_problems(path, soon):
            yield Finding(f"certificate {key}", "warning",
                          f"{path}: expires within {_CERT_WARNING_DAYS} days",
                          "ask the care team for a renewed certificate")
        else:
            yield Finding(f"certificate {key}", "ok", f"{path}: valid")


def _tcp_probe(host: str, port: int) -> str | None:
    import socket

    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as error:
        return f"cannot connect: {error.strerror or error}"


def _audit(config: Config) -> Iterator[Finding]:
    from edge.control.audit import verify_chain

    path = config.data_path / "audit.log"
    if not path.exists():
        yield Finding("audit log", "ok", "no remote update yet")
        return
    broken = verify_chain(path)
    if broken is None:
        yield Finding("audit log", "ok", f"{path}: the hash chain holds")
    else:
        yield Finding("audit log", "problem", f"{path}: the hash chain breaks at line {broken}: "
                      "a record was changed or removed", "keep the file for the care team's "
                      "investigation; do not edit it")


def _models(config: Config) -> Iterator[Finding]:
    from edge.detector_models import load_configured
    from edge.inference import ModelRefused, RuntimeUnavailable

    settings = config.detect.models
    folder = config.models_path or shipped_dir("models")
    for name in (settings.af, settings.af_ecg, settings.pvc):
        if not name:
            continue
        updated = config.data_path / "models" / name / "manifest.json"
        manifest = updated if updated.exists() else folder / name / "manifest.json"
        try:
            model = load_configured(manifest, settings)
        except (ModelRefused, RuntimeUnavailable) as error:
            yield Finding(f"model {name}", "problem", str(error),
                          "reinstall the gateway, or send a signed model update; until then "
                          "the rule-based detector runs")
            continue
        yield Finding(f"model {name}", "ok", f"{model.name} {model.version}: files and "
                      f"reference outputs check ({model.backend}, {model.precision})")

