"""Wires the stages together; the only place where asyncio meets the pure pipeline.

link -> Pipeline (decode -> signals -> detect -> messages) -> Outbox -> MqttUplink
"""

import asyncio
import datetime as dt
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from edge.baseline_file import load_baselines, save_baselines
from edge.config import Config, ConsentSettings
from edge.control.remote import RemoteControl, update_topic
from edge.detect.baselines import BaselineStore
from edge.detect.vitals import ClinicianLimits
from edge.detector_models import load_configured, load_detector_models
from edge.exporter import Metric, MetricsServer
from edge.inference import Model
from edge.link.ble.central import BleCentral, ProvisionedDevice
from edge.link.notification import Notification
from edge.logs import RECENT_PROBLEMS
from edge.messages.consent import ConsentPolicy
from edge.messages.fhir import as_fhir
from edge.messages.payloads import PRIORITIES, OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.page.server import PageSources, StatusPage
from edge.page.views import DeviceView, EventView
from edge.pipeline import Pipeline, baseline_params
from edge.profiles import DeviceProfile, configured_profiles, profiles_for
from edge.ratelimit import RateLimitedLog
from edge.service import ServiceManager
from edge.shipped import shipped_dir
from edge.sim.clock import VirtualClock
from edge.sim.radio.inprocess import InProcessRadio
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import device_scenario
from edge.status_file import STATUS_FILE, write_status
from edge.uplink.mqtt import MqttUplink
from edge.uplink.tls import certificate_warnings, client_context

log = logging.getLogger(__name__)

_TICK_S = 1.0
_RESTART_DELAY_S = 5.0
_STATUS_INTERVAL_S = 5.0
_RECENT_EVENTS = 20
_ERROR_LOG_INTERVAL_S = 60.0


class Link(Protocol):
    async def run(self, deliver: Callable[[Notification], None]) -> None: ...

    def connected_ids(self) -> set[str]: ...

    def reconnects(self) -> int: ...


def ble_central(config: Config, clock: Callable[[], float],
                profiles: Mapping[str, DeviceProfile] | None = None) -> BleCentral | None:
    """The central of the config's BLE devices, with their profiles from `profiles` (by
    default read from the config's profiles folder); None when there are none."""
    by_device = profiles_for(config, profiles)
    devices = [ProvisionedDevice(d.id, d.address, by_device[d.id])
               for d in config.devices if d.link == "ble"]
    return BleCentral(config.ble, devices, clock) if devices else None


def simulated_links(config: Config, profiles: Mapping[str, DeviceProfile],
                    scenarios: Sequence[ScenarioRun]) -> list[Link]:
    """The in-process radios of the simulated devices: `scenarios` where given, else one per
    device from its `simulation` settings."""
    simulated = [d for d in config.devices if d.link == "simulated"]
    if not simulated:
        return []
    runs = list(scenarios) or [ScenarioRun(device_scenario(d), VirtualClock()) for d in simulated]
    return [InProcessRadio(run, profiles) for run in runs]


def _device_words(config: Config, profiles: Mapping[str, DeviceProfile]) -> (
        dict[str, tuple[str, str]]):
    """Each device's everyday name and what to do when it is silent, from its profile."""
    words = {}
    for device in config.devices:
        name = device.profile if device.link == "ble" else device.simulation.profile
        profile = profiles.get(name)
        words[device.id] = ((profile.patient_name, profile.advice_when_silent) if profile
                            else ("device", "check that it is switched on and near the gateway"))
    return words


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
        # First: a config error (the TLS files, a device's profile) must leave nothing open.
        tls = client_context(config)
        profiles = configured_profiles(config)
        profiles_for(config, profiles)
        for warning in certificate_warnings(config, dt.datetime.now(dt.UTC)):
            log.error("%s: %s", config.source, warning)
        self.counters = Counters()
        self._clock = clock
        self._errors = RateLimitedLog(log, _ERROR_LOG_INTERVAL_S)
        self.outbox = Outbox(config.data_path / "outbox.db", config.outbox,
                             config.outbox_key_path)
        self._fhir = config.uplink.payload_format == "fhir"
        self.consent = ConsentPolicy()
        self.apply_consent(config.consent)
        self._baselines = _baselines(config)
        self._baselines_path = config.data_path / "baselines.json"
        self._save_interval_s = config.detect.baselines.save_interval_s
        self._model_settings = config.detect.models
        self._models = load_detector_models(config.detect.models,
                                            config.models_path or shipped_dir("models"),
                                            updated=config.data_path / "models")
        self._pipeline = Pipeline(config, self.counters, self._baselines, self._models)
        self.remote = RemoteControl(config, self, clock)
        self.remote.reapply()
        self._uplink = MqttUplink(config.uplink, config.gateway.id, self.outbox, self.counters,
                                  tls, {update_topic(config.gateway.id): self._on_update})
        self._links = simulated_links(config, profiles, scenarios)
        self._service = ServiceManager()
        self._status_path = config.data_path / STATUS_FILE
        self._metrics = (MetricsServer(config.metrics.listen, self.metrics)
                         if config.metrics.listen else None)
        self._device_words = _device_words(config, profiles)
        self._recent_events: deque[tuple[float, str]] = deque(maxlen=_RECENT_EVENTS)
        self._page = (StatusPage(config.status_page.listen, config.page_pin_path, PageSources(
            self._page_devices, self._page_events, self._technician_view),
            config.status_page.silent_after_s) if config.status_page.listen else None)
        self.central = ble_central(config, clock, profiles)
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
        workers.append(asyncio.create_task(_supervised("status", self._status_forever)))
        if self._metrics is not None:
            workers.append(asyncio.create_task(self._metrics.run()))
        if self._page is not None:
            workers.append(asyncio.create_task(self._page.run()))
        uplink = asyncio.create_task(self._uplink.run())
        self._uplink.wake()
        self._service.ready()
        try:
            await stop.wait()
        finally:
            self._service.stopping()
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

    async def _status_forever(self) -> None:
        while True:
            try:
                write_status(self._status_path, self.status())
            except OSError as error:
                log.error("cannot write %s: %s", self._status_path, error.strerror)
            await asyncio.sleep(_STATUS_INTERVAL_S)

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
                                 f"{type(error).__name__} at {_where(error)}")
            return
        self._store(messages)

    async def _tick_forever(self) -> None:
        """Close summary periods each second; and, while it keeps doing so, tell systemd's
        watchdog that the gateway is alive (a hung loop gets it restarted)."""
        interval = self._service.watchdog_interval_s
        petted = time.monotonic()
        while True:
            await asyncio.sleep(_TICK_S)
            self._store(self._pipeline.tick(self._clock()))
            if interval is not None and time.monotonic() - petted >= interval:
                self._service.alive()
                petted = time.monotonic()

    def _connected_ids(self) -> set[str]:
        return set().union(*(link.connected_ids() for link in self._links))

    def status(self) -> dict[str, Any]:
        """For `edge doctor` and the patient page: links, last data, batteries, backlog."""
        connected = self._connected_ids()
        return {"written_at": time.time(),
                "devices": [device | {"connected": device["id"] in connected}
                            for device in self._pipeline.device_status()],
                "outbox": {"waiting": self.outbox.count(), "bytes": self.outbox.stored_bytes()}}

    # The status page's sources: the patient's words and the technician's facts.

    def _page_devices(self) -> list[DeviceView]:
        now = time.time()
        return [DeviceView(*self._device_words[d["id"]], d["connected"],
                           None if d["last_data_at"] is None else now - d["last_data_at"],
                           d["battery_percent"]) for d in self.status()["devices"]]

    def _page_events(self) -> list[EventView]:
        now = time.time()
        return [EventView(now - at, text) for at, text in reversed(self._recent_events)]

    def _technician_view(self) -> tuple[list[tuple[str, str, str, str, str]],
                                        list[tuple[str, str]]]:
        now = time.time()
        rows = [(d["id"], self._device_words[d["id"]][0],
                 "streaming" if d["connected"] else "down",
                 "never" if d["last_data_at"] is None else f"{now - d['last_data_at']:.0f} s ago",
                 "?" if d["battery_percent"] is None else f"{d['battery_percent']} %")
                for d in self.status()["devices"]]
        counts = self.counters
        facts = [("outbox waiting", str(self.outbox.count())),
                 ("oldest waiting", f"{self.outbox.oldest_age_s(now):.0f} s"),
                 ("dead letters", str(self.outbox.dead_letters())),
                 ("published / acknowledged", f"{counts.published} / {counts.acknowledged}"),
                 ("broker connection failures", str(counts.connect_failures)),
                 ("malformed packets", str(counts.decode_errors)),
                 ("processing faults", str(counts.pipeline_errors))]
        facts += [(f"problem {now - at:.0f} s ago", message)
                  for at, message in reversed(RECENT_PROBLEMS.records)]
        return rows, facts

    def metrics(self) -> list[Metric]:
        """What the metrics endpoint shows: counts and states, never a value or a pseudonym."""
        counts = self.counters
        depth = self.outbox.depth()

        def counter(name: str, help_text: str, value: float) -> Metric:
            return Metric(f"edge_{name}", "counter", help_text, (("", value),))

        def gauge(name: str, help_text: str, value: float) -> Metric:
            return Metric(f"edge_{name}", "gauge", help_text, (("", value),))

        return [
            gauge("devices_configured", "Devices in the config.", len(self._pipeline.device_ids)),
            gauge("devices_connected", "Devices streaming now.", len(self._connected_ids())),
            counter("reconnects_total", "Device connections after the first.",
                    sum(link.reconnects() for link in self._links)),
            counter("notifications_total", "Values received from devices.", counts.notifications),
            counter("decode_errors_total", "Malformed values from devices.", counts.decode_errors),
            counter("pipeline_errors_total", "Values that failed in processing.",
                    counts.pipeline_errors),
            counter("detector_events_total", "Events detected (starts and ends).", counts.events),
            counter("summaries_total", "Summaries made.", counts.summaries),
            Metric("edge_outbox_depth", "gauge", "Messages waiting, by class.", tuple(
                (f'{{class="{name}"}}', float(depth.get(name, 0))) for name in PRIORITIES)),
            gauge("outbox_oldest_age_seconds", "How long the oldest waiting message has waited.",
                  self.outbox.oldest_age_s(time.time())),
            gauge("outbox_bytes", "Bytes the waiting messages take.", self.outbox.stored_bytes()),
            gauge("outbox_dead_letters", "Messages set aside as undeliverable.",
                  self.outbox.dead_letters()),
            counter("outbox_evicted_total", "Messages dropped to keep within the disk budget.",
                    self.outbox.counters.evicted),
            counter("outbox_expired_total", "Messages dropped past their class's expiry.",
                    self.outbox.counters.expired),
            counter("published_total", "Messages published.", counts.published),
            counter("acknowledged_total", "Messages the broker acknowledged.", counts.acknowledged),
            counter("publish_failures_total", "Publishes the broker refused.",
                    counts.publish_failures),
            counter("broker_connect_failures_total", "Failed connections to the broker.",
                    counts.connect_failures),
            counter("withheld_total", "Messages kept home for lack of consent.", counts.withheld),
        ]

    # What remote updates change (edge.control.remote.Targets).

    def device_ids(self) -> list[str]:
        return self._pipeline.device_ids

    def set_clinician_limits(self, device_id: str, limits: ClinicianLimits) -> None:
        self._pipeline.set_clinician_limits(device_id, limits)

    def model_names(self) -> list[str]:
        settings = self._model_settings
        return [name for name in (settings.af, settings.af_ecg, settings.pvc) if name]

    def load_model(self, manifest: Path) -> Model:
        return load_configured(manifest, self._model_settings)

    def swap_model(self, model: Model) -> None:
        self._models = self._models.replacing(model, self._model_settings)
        self._pipeline.use_models(self._models)

    def _on_update(self, payload: bytes) -> None:
        self._store([self.remote.handle(payload)])

    def apply_consent(self, consents: Sequence[ConsentSettings]) -> None:
        """Take these patients' consent into effect: from now on, and for what is queued."""
        for patient, classes in self.consent.update(consents).items():
            purged = self.outbox.purge(patient, classes)
            self.counters.withheld += purged
            if purged:
                log.info("consent: %d queued message(s) of %s withheld (%s)", purged, patient,
                         ", ".join(classes))

    def _store(self, messages: list[OutgoingMessage]) -> None:
        allowed = [message for message in messages if self.consent.allows(message)]
        self.counters.withheld += len(messages) - len(allowed)
        self._recent_events.extend((time.time(), m.payload["explanation"]) for m in allowed
                                   if "explanation" in m.payload)
        if self._fhir:
            allowed = [as_fhir(message) for message in allowed]
        if allowed:
            self.outbox.put(allowed)
            self._uplink.wake()


def _where(error: BaseException) -> str:
    """The file and line an error came from: what a developer needs, without its message,
    which could quote a measured value."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return "?" if trace is None else f"{trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"


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
