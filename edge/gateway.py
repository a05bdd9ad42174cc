"""Wires the stages together; the only place where asyncio meets the pure pipeline.

link -> Pipeline (decode -> signals -> detect -> messages) -> Outbox -> MqttUplink
"""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from edge.baseline_file import load_baselines, save_baselines
from edge.config import Config
from edge.detect.baselines import BaselineStore
from edge.detector_models import load_detector_models
from edge.link.ble.central import BleCentral, ProvisionedDevice
from edge.link.notification import Notification
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.pipeline import Pipeline, baseline_params
from edge.profiles import default_profiles_dir, load_profiles, profiles_for
from edge.ratelimit import RateLimitedLog
from edge.shipped import shipped_dir
from edge.sim.clock import VirtualClock
from edge.sim.radio.inprocess import InProcessRadio
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import device_scenario
from edge.uplink.mqtt import MqttUplink

log = logging.getLogger(__name__)

_TICK_S = 1.0
_RESTART_DELAY_S = 5.0
_ERROR_LOG_INTERVAL_S = 60.0


class Link(Protocol):
    async def run(self, deliver: Callable[[Notification], None]) -> None: ...


def ble_central(config: Config, clock: Callable[[], float]) -> BleCentral | None:
    profiles = profiles_for(config)
    devices = [ProvisionedDevice(d.id, d.address, profiles[d.id])
               for d in config.devices if d.link == "ble"]
    return BleCentral(config.ble, devices, clock) if devices else None


def simulated_links(config: Config, scenarios: Sequence[ScenarioRun]) -> list[Link]:
    """The in-process radios of the simulated devices: `scenarios` where given, else one per
    device from its `simulation` settings."""
    simulated = [d for d in config.devices if d.link == "simulated"]
    if not simulated:
        return []
    runs = list(scenarios) or [ScenarioRun(device_scenario(d), VirtualClock()) for d in simulated]
    profiles = load_profiles(config.profiles_path or default_profiles_dir())
    return [InProcessRadio(run, profiles) for run in runs]


def _baselines(config: Config) -> BaselineStore | None:
    settings = config.detect.baselines
    if not settings.enabled:
        return None
    return load_baselines(config.data_path / "baselines.json", baseline_params(config.detect),
                          settings.utc_offset_h * 3600)


class Gateway:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time,
                 scenarios: Sequence[ScenarioRun] = ()) -> None:
        """`clock` gives UTC seconds (a simulation's virtual clock in tests); `scenarios` drive
        the config's simulated devices (by default each device's own `simulation`)."""
        self.counters = Counters()
        self._clock = clock
        self._errors = RateLimitedLog(log, _ERROR_LOG_INTERVAL_S)
        self.outbox = Outbox(config.data_path / "outbox.db")
        self._baselines = _baselines(config)
        self._baselines_path = config.data_path / "baselines.json"
        self._save_interval_s = config.detect.baselines.save_interval_s
        models = load_detector_models(config.detect.models,
                                      config.models_path or shipped_dir("models"))
        self._pipeline = Pipeline(config, self.counters, self._baselines, models)
        self._uplink = MqttUplink(config.uplink, config.gateway.id, self.outbox, self.counters)
        self._links = simulated_links(config, scenarios)
        self.central = ble_central(config, clock)
        if self.central is not None:
            self._links.append(self.central)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then shut down cleanly."""
        workers = [
            asyncio.create_task(_supervised(f"link {i}", functools.partial(link.run, self._accept)))
            for i, link in enumerate(self._links)
        ]
        workers.append(asyncio.create_task(_supervised("ticker", self._tick_forever)))
        workers.append(asyncio.create_task(_supervised("baselines", self._save_forever)))
        uplink = asyncio.create_task(self._uplink.run())
        self._uplink.wake()
        try:
            await stop.wait()
        finally:
            for task in [*workers, uplink]:
                task.cancel()
            await asyncio.gather(*workers, uplink, return_exceptions=True)

    def close(self) -> None:
        self._save_baselines()
        self.outbox.close()

    async def _save_forever(self) -> None:
        while True:
            await asyncio.sleep(self._save_interval_s)
            self._save_baselines()

    def _save_baselines(self) -> None:
        if self._baselines is None:
            return
        try:
            save_baselines(self._baselines, self._baselines_path)
        except OSError as error:
            log.error("cannot save baselines to %s: %s", self._baselines_path, error.strerror)

    def _accept(self, notification: Notification) -> None:
        try:
            messages = self._pipeline.handle(notification)
        except Exception as error:  # a bug on one packet must not stop the device's stream
            self.counters.pipeline_errors += 1
            self._errors.warning(notification.device_id, time.time(),
                                 f"device {notification.device_id}: packet not processed: "
                                 f"{type(error).__name__}: {error}")
            return
        self._store(messages)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            self._store(self._pipeline.tick(self._clock()))

    def _store(self, messages: list[OutgoingMessage]) -> None:
        if messages:
            self.outbox.put(messages)
            self._uplink.wake()


async def _supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` forever: an unexpected error is logged and the work restarted, never fatal."""
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting it in %.0f s", name, _RESTART_DELAY_S)
            await asyncio.sleep(_RESTART_DELAY_S)
