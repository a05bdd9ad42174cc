"""Runs a scenario: every virtual wearable of one patient on one virtual clock, their values sent
through a radio, faults injected on schedule, and the ground truth written as it happens."""

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from edge.messages.payloads import utc_iso
from edge.sim.clock import VirtualClock
from edge.sim.peripheral import Radio
from edge.sim.physiology import Patient
from edge.sim.scenario import EXPECTED_EVENTS, FaultSpec, Scenario
from edge.sim.wearables import Wearable, make_wearable

STEP_S = 0.25  # run time between two rounds of sending


@dataclass
class RunCounters:
    sent: int = 0
    dropped: int = 0
    malformed: int = 0
    link_drops: int = 0


@dataclass(frozen=True, order=True)
class _Mark:
    """A start or end on the timeline, for the ground-truth log."""

    t: float
    order: int  # at the same time, ends before starts
    record: dict[str, Any] = field(compare=False)


class ScenarioRun:
    def __init__(self, scenario: Scenario, clock: VirtualClock,
                 truth: TextIO | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.counters = RunCounters()
        self.patient = Patient(scenario.physiology, [e.episode() for e in scenario.episodes],
                               scenario.seed, scenario.start_hour)
        self.wearables: dict[str, Wearable] = {
            d.id: make_wearable(d, self.patient, clock.epoch) for d in scenario.devices}
        self._truth = truth
        self._random = random.Random(scenario.seed + 1)
        self._marks = sorted(self._timeline(), reverse=True)
        self._values_seen: dict[str, int] = {}
        self._dead: set[str] = set()

    def device_ids(self) -> dict[str, str]:
        """Each device's address and id."""
        return {w.peripheral.address: w.id for w in self.wearables.values()}

    def attach(self, radio: Radio) -> None:
        """Let the devices answer through `radio` (a central may write before the run)."""
        for wearable in self.wearables.values():
            wearable.attach(radio)

    async def run(self, radio: Radio) -> None:
        """Send every device's values through `radio` until the scenario's end."""
        self.attach(radio)
        self._log({"record": "run", "scenario": self.scenario.name,
                   "patient": self.scenario.patient, "seed": self.scenario.seed,
                   "speed": self.clock.speed, "epoch": self.clock.epoch,
                   "started_at": utc_iso(self.clock.epoch),
                   "duration_s": self.scenario.duration_s,
                   "quiet_margin_s": self.scenario.quiet_margin_s,
                   "devices": [{"id": w.id, "profile": w.profile, "address": w.peripheral.address}
                               for w in self.wearables.values()]})
        previous = 0.0
        while True:
            t = min(self.clock.elapsed(), self.scenario.duration_s)
            self._log_marks_until(t)
            self._step(radio, previous, t)
            if t >= self.scenario.duration_s:
                break
            previous = t
            await self.clock.sleep_until(t + STEP_S)
        self._log({"record": "end", "t": t, "at": self.clock.epoch_at(t),
                   "counters": asdict(self.counters)})

    def _step(self, radio: Radio, start: float, end: float) -> None:
        for fault in self.scenario.faults:
            self._apply(fault, radio, start, end)
        for wearable in self.wearables.values():
            if wearable.id in self._dead:
                continue
            for uuid, payload in wearable.values_until(end):
                self._send(radio, wearable, uuid, payload, end)

    def _apply(self, fault: FaultSpec, radio: Radio, start: float, end: float) -> None:
        wearable = self.wearables[fault.device]
        address = wearable.peripheral.address
        overlap = max(0.0, min(end, fault.end_s) - max(start, fault.start_s))
        if fault.kind == "disconnect" and fault.every_s == 0:
            if start <= fault.start_s < end:
                radio.set_in_range(address, False)
                wearable.link_lost()
            if start < fault.end_s <= end:
                radio.set_in_range(address, True)
        elif fault.kind == "disconnect":
            drops = _ticks(fault.start_s, fault.end_s, fault.every_s)
            for _ in (d for d in drops if start <= d < end):
                radio.drop_link(address)
                wearable.link_lost()
                self.counters.link_drops += 1
        elif fault.kind == "battery_drain" and overlap:
            for uuid, payload in wearable.drain_battery(fault.percent_per_hour * overlap / 3600):
                self._send(radio, wearable, uuid, payload, end)
            if wearable.battery_percent <= 0 and wearable.id not in self._dead:
                self._dead.add(wearable.id)
                radio.set_in_range(address, False)
        elif fault.kind == "clock_drift":
            wearable.clock_offset_s += overlap * fault.ppm * 1e-6

    def _send(self, radio: Radio, wearable: Wearable, uuid: str, payload: bytes,
              t: float) -> None:
        active = [f for f in self.scenario.faults
                  if f.device == wearable.id and f.start_s <= t < f.end_s]
        count = self._values_seen[wearable.id] = self._values_seen.get(wearable.id, 0) + 1
        for fault in active:
            if fault.kind == "drop_notifications" and self._random.random() < fault.share:
                self.counters.dropped += 1
                return
            if fault.kind == "malformed" and count % fault.every == 0:
                # Only the first byte (flags or op code): every field it announces is missing.
                payload = payload[:1]
                self.counters.malformed += 1
        self.counters.sent += 1
        radio.notify(wearable.peripheral.address, uuid, payload)

    def _timeline(self) -> Iterator[_Mark]:
        for index, spec in enumerate(self.scenario.episodes):
            episode = spec.episode()
            about = {"record": "episode", "index": index, "kind": spec.kind,
                     "level": episode.level}
            yield _Mark(spec.start_s, 1, about | {
                "phase": "start", "end_t": episode.end_s,
                "expect": list(EXPECTED_EVENTS.get(spec.kind, ())), "bound_s": spec.bound})
            yield _Mark(episode.end_s, 0, about | {"phase": "end"})
        for index, fault in enumerate(self.scenario.faults):
            about = {"record": "fault", "index": index} | asdict(fault)
            yield _Mark(fault.start_s, 1, about | {"phase": "start"})
            yield _Mark(fault.end_s, 0, about | {"phase": "end"})

    def _log_marks_until(self, t: float) -> None:
        while self._marks and self._marks[-1].t <= t:
            mark = self._marks.pop()
            at = self.clock.epoch_at(mark.t)
            self._log(mark.record | {"t": mark.t, "at": at, "at_utc": utc_iso(at)})

    def _log(self, record: dict[str, Any]) -> None:
        if self._truth is not None:
            self._truth.write(json.dumps(record) + "\n")
            self._truth.flush()


def _ticks(start: float, end: float, every: float) -> Iterator[float]:
    tick = start
    while tick < end:
        yield tick
        tick += every
