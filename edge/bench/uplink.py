"""`edge bench uplink`: what never losing anything costs, against a local Mosquitto.

- enqueue: messages per second committed to the outbox (sealed, synchronous=FULL), in batches;
- drain: messages per second from a full outbox to PUBACK at QoS 1 after an outage, and bare
  paho publishing the same payloads with the same in-flight window in the same run;
- alert latency: from `put` (just after decoding) to PUBACK, while a backlog drains;
- memory: peak RSS of a gateway process with LiteRT models and five devices over bleak, and
  of the libraries and models alone, without the gateway (`memory_floor.py`).
"""

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.bench.memory_floor import library_floor_kib
from edge.bench.timing import machine
from edge.config import OutboxSettings, UplinkSettings
from edge.demo.broker import LocalMosquitto
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.sim.scenario import Scenario, load_scenario
from edge.sim.session import devices_in_another_process
from edge.uplink.mqtt import MqttUplink

_MESSAGES = 20_000
_BATCH = 1000  # messages per transaction (one fsync)
_IN_FLIGHT = 100
_ALERTS = 200
_ALERT_EVERY_S = 0.005
_RSS_SECONDS = 60.0
_DRAIN_LOOK_S = 0.01


def summary(n: int) -> OutgoingMessage:
    """A summary-sized message (about 500 bytes of JSON)."""
    payload = {"schema": "edge.summary", "schema_version": 1, "message_id": f"{n:032x}",
               "gateway_id": "gw-bench", "created_at": "2026-11-30T12:00:00.000Z",
               "device_id": "strap-01", "patient_id": "patient-0001",
               "period_start": "2026-11-30T11:59:00.000Z",
               "period_end": "2026-11-30T12:00:00.000Z", "sample_count": 60,
               "coverage": {"value": 1.0, "unit": "1"},
               "heart_rate": {k: {"value": 70.0 + n % 7, "unit": "beats/min"}
                              for k in ("mean", "min", "max")},
               "rr_interval_count": 70, "rmssd": {"value": 31.0, "unit": "ms"}}
    return OutgoingMessage("summary/strap-01", "edge/v1/gw-bench/summary/strap-01", payload)


def alert(n: int) -> OutgoingMessage:
    payload = {"schema": "edge.event", "event_type": "tachycardia", "phase": "started", "n": n}
    return OutgoingMessage("event/strap-01", "edge/v1/gw-bench/event/strap-01", payload)


def run_uplink_benchmark(messages: int = _MESSAGES) -> dict[str, Any]:
    with LocalMosquitto() as broker, tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        folder = Path(tmp)
        enqueue = _enqueue_per_s(folder / "enqueue.db", messages)
        bare = _bare_paho_per_s(broker.port, messages)
        drain = asyncio.run(_drain_per_s(folder / "drain.db", broker.port, messages))
        latency = asyncio.run(_alert_latency_ms(folder / "latency.db", broker.port, messages))
        rss = _gateway_rss_kib(folder, broker.port)
    return {
        **machine(),
        "messages": messages,
        "in_flight": _IN_FLIGHT,
        "enqueue_per_s": round(enqueue),
        "drain_per_s": {"outbox": round(drain), "bare_paho": round(bare),
                        "outbox_share_of_bare": round(drain / bare, 3)},
        "alert_latency_ms_while_draining": latency,
        "gateway_memory": rss,
    }


def _enqueue_per_s(path: Path, messages: int) -> float:
    outbox = Outbox(path, OutboxSettings(max_mb=10_000))
    batches = [[summary(n) for n in range(start, min(messages, start + _BATCH))]
               for start in range(0, messages, _BATCH)]
    started = time.perf_counter()
    for batch in batches:
        outbox.put(batch)
    elapsed = time.perf_counter() - started
    outbox.close()
    return messages / elapsed


def _bare_paho_per_s(port: int, messages: int) -> float:
    """paho alone: the same payloads at QoS 1, the same in-flight window, no outbox."""
    payloads = [json.dumps(summary(n).payload).encode() for n in range(messages)]
    done = threading.Event()
    acknowledged = 0

    def on_publish(*_: Any) -> None:
        nonlocal acknowledged
        acknowledged += 1
        if acknowledged == messages:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(_IN_FLIGHT)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for payload in payloads:
        client.publish("edge/v1/gw-bench/summary/strap-01", payload, qos=1)
    done.wait(300)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return messages / elapsed


def _uplink(outbox: Outbox, port: int, counters: Counters) -> MqttUplink:
    settings = UplinkSettings(port=port, plaintext=True, max_in_flight=_IN_FLIGHT,
                              backlog_rate_per_s=0)
    return MqttUplink(settings, "gw-bench", outbox, counters, None)


async def _drain_per_s(path: Path, port: int, messages: int) -> float:
    """A backlog left by an outage, from the first publish to the last PUBACK."""
    outbox = Outbox(path, OutboxSettings(max_mb=10_000))
    for start in range(0, messages, _BATCH):
        outbox.put([summary(n) for n in range(start, min(messages, start + _BATCH))])
    counters = Counters()
    uplink = _uplink(outbox, port, counters)
    task = asyncio.create_task(uplink.run())
    while counters.published == 0:
        await asyncio.sleep(0.001)
    started = time.perf_counter()
    # Looked at every 10 ms, not every 1: each look takes the GIL from paho's thread (bare
    # paho's baseline waits on an event instead); the last PUBACK is seen up to 10 ms late.
    while counters.acknowledged < messages:
        await asyncio.sleep(_DRAIN_LOOK_S)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outbox.close()
    return messages / elapsed


async def _alert_latency_ms(path: Path, port: int, backlog: int) -> dict[str, float]:
    """Alerts put every few ms while `backlog` summaries drain: put to PUBACK."""
    outbox = Outbox(path, OutboxSettings(max_mb=10_000))
    for start in range(0, backlog, _BATCH):
        outbox.put([summary(n) for n in range(start, min(backlog, start + _BATCH))])
    counters = Counters()
    uplink = _uplink(outbox, port, counters)
    put_at: dict[int, float] = {}
    latencies: list[float] = []
    uplink.on_acknowledged = lambda message_id: latencies.append(
        time.perf_counter() - put_at[message_id]) if message_id in put_at else None
    task = asyncio.create_task(uplink.run())
    while counters.published == 0:
        await asyncio.sleep(0.001)
    for n in range(_ALERTS):
        (message_id,) = outbox.put([alert(n)])
        put_at[message_id] = time.perf_counter()
        uplink.wake()
        await asyncio.sleep(_ALERT_EVERY_S)
    while len(latencies) < _ALERTS:
        await asyncio.sleep(0.001)
    drained_during = counters.acknowledged - _ALERTS
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outbox.close()
    ms = sorted(1000 * s for s in latencies)
    return {"alerts": _ALERTS, "p50": round(statistics.median(ms), 2),
            "p99": round(ms[int(0.99 * (len(ms) - 1))], 2), "max": round(ms[-1], 2),
            "backlog_messages_acknowledged_meanwhile": drained_during}


_FIVE_DEVICES = """
name = "bench"
patient = "patient-0001"
duration_s = {duration}
[[devices]]
id = "h10-01"
profile = "polar_h10"
[[devices]]
id = "oxi-01"
profile = "generic_pulse_oximeter"
[[devices]]
id = "thermo-01"
profile = "generic_thermometer"
interval_s = 10
[[devices]]
id = "cuff-01"
profile = "generic_blood_pressure"
interval_s = 10
[[devices]]
id = "cgm-01"
profile = "generic_cgm"
interval_s = 10
[[episodes]]
kind = "af"
start_s = 10
duration_s = 30
"""
# A gateway process for `seconds`, then its peak RSS: VmHWM, which unlike ru_maxrss does not
# count the memory of the process that started it.
_MEASURE_RSS = """
import asyncio, sys
from pathlib import Path
from edge.config import load_config
from edge.gateway import Gateway

async def main(gateway, seconds):
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await gateway.run(stop)

gateway = Gateway(load_config(Path(sys.argv[1])))
asyncio.run(main(gateway, float(sys.argv[2])))
gateway.close()
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")),
      gateway.counters.notifications)
"""


def _gateway_rss_kib(folder: Path, port: int) -> dict[str, Any]:
    """Peak RSS of a gateway process with the default models (LiteRT) and five devices, a Polar
    H10 streaming ECG among them, connected through bleak to virtual wearables on the emulated
    BlueZ (served by `edge sim` in a process of its own), for a minute."""
    scenario = folder / "five.toml"
    scenario.write_text(_FIVE_DEVICES.format(duration=_RSS_SECONDS + 60))
    with devices_in_another_process(scenario) as environment:
        config = folder / "gw.toml"
        config.write_text(_ble_config(folder, port, load_scenario(scenario)))
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE_RSS, str(config), str(_RSS_SECONDS)],
            capture_output=True, text=True, timeout=_RSS_SECONDS + 120, check=True,
            env=environment)
    peak_kib, notifications = result.stdout.split()[-2:]
    return {"max_rss_kib": int(peak_kib), "notifications_handled": int(notifications),
            "seconds": int(_RSS_SECONDS), "libraries_and_models_alone_kib": library_floor_kib()}


def _ble_config(folder: Path, port: int, scenario: Scenario) -> str:
    devices = "".join(f'[[devices]]\nid = "{d.id}"\npatient = "{scenario.patient}"\n'
                      f'link = "ble"\naddress = "{d.address}"\nprofile = "{d.profile}"\n'
                      for d in scenario.devices)
    return (f'[gateway]\nid = "gw-bench"\ndata_dir = "{folder / "gw"}"\n'
            f"[uplink]\nport = {port}\nplaintext = true\n{devices}")
