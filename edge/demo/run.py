"""`edge demo`: Mosquitto, one simulated patient wearing four devices (a Polar H10 with ECG, a
pulse oximeter, a thermometer, a blood-pressure cuff) through a scripted morning, the gateway,
and a live view of what arrives at the broker."""

import asyncio
import contextlib
import tempfile
import threading
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import Config, parse_config
from edge.demo.broker import LocalMosquitto
from edge.demo.view import describe
from edge.gateway import Gateway
from edge.messages.payloads import TOPIC_ROOT
from edge.sim.clock import VirtualClock
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import Scenario, parse_scenario
from edge.sim.session import gateway_config

DEMO_SCENARIO = {
    "name": "demo",
    "patient": "patient-0001",
    "duration_s": 3600,
    "physiology": {"resting_bpm": 72},
    "devices": [
        {"id": "strap-01", "profile": "polar_h10"},
        {"id": "oxi-01", "profile": "generic_pulse_oximeter"},
        {"id": "thermo-01", "profile": "generic_thermometer", "interval_s": 30},
        {"id": "cuff-01", "profile": "generic_blood_pressure", "interval_s": 120},
    ],
    "episodes": [
        {"kind": "tachycardia", "start_s": 6, "duration_s": 30, "level": 150, "ramp_s": 3},
        {"kind": "desaturation", "start_s": 60, "duration_s": 90, "level": 85, "ramp_s": 10},
        {"kind": "af", "start_s": 240, "duration_s": 300},
        {"kind": "fever", "start_s": 600, "duration_s": 1200, "level": 39.0, "ramp_s": 120},
        {"kind": "hypotension", "start_s": 1800, "duration_s": 900},
    ],
}
DEMO_STORY = ("tachycardia after 6 s, a desaturation after 1 min, atrial fibrillation after "
              "4 min, a fever after 10 min, low blood pressure after 30 min")


def demo_config(data_dir: Path, port: int, scenario: Scenario) -> Config:
    base = parse_config({
        "gateway": {"id": "demo-gateway", "data_dir": str(data_dir)},
        "uplink": {"host": "127.0.0.1", "port": port, "plaintext": True},
        "summary": {"period_s": 10},
        "detect": {"heart_rate": {"high_bpm": 120, "min_duration_s": 5}},
    }, "<embedded demo config>")
    return gateway_config(base, scenario, "simulated")


class LiveView:
    """Subscribes to everything under the topic root and prints one line per message."""

    def __init__(self, host: str, port: int, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-demo-view")
        self._client.on_connect = self._subscribe
        self._client.on_message = self._print
        self._client.connect_async(host, port)

    def __enter__(self) -> "LiveView":
        self._client.loop_start()
        return self

    def __exit__(self, *_: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _subscribe(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(f"{TOPIC_ROOT}/#", qos=1)

    def _print(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            print(describe(message.topic, bytes(message.payload)), file=self._out, flush=True)


async def _run_for(gateway: Gateway, seconds: float | None) -> None:
    stop = asyncio.Event()
    if seconds is not None:
        asyncio.get_running_loop().call_later(seconds, stop.set)
    await gateway.run(stop)


def run_demo(seconds: float | None, out: TextIO) -> None:
    scenario = parse_scenario(DEMO_SCENARIO, "<embedded demo scenario>")
    with LocalMosquitto() as broker, tempfile.TemporaryDirectory(prefix="edge-demo-") as data:
        devices = ", ".join(f"{d.id} ({d.profile})" for d in scenario.devices)
        print(f"Mosquitto listening on {broker.host}:{broker.port}. Simulated patient "
              f"{scenario.patient} wears {devices}: {DEMO_STORY}; summaries every 10 s.",
              file=out)
        print("Messages arriving at the broker (Ctrl-C to stop):", file=out, flush=True)
        clock = VirtualClock()
        gateway = Gateway(demo_config(Path(data), broker.port, scenario), clock.now,
                          [ScenarioRun(scenario, clock)])
        try:
            with LiveView(broker.host, broker.port, out), contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_run_for(gateway, seconds))
            counts = gateway.counters
            print(f"\npublished {counts.published}, acknowledged {counts.acknowledged}, "
                  f"pending {gateway.outbox.count()} "
                  f"(summaries {counts.summaries}, events {counts.events}, "
                  f"decode errors {counts.decode_errors})", file=out)
        finally:
            gateway.close()
