"""A Polar H10: the heart-rate strap plus Polar Measurement Data (PMD), whose control point
starts and stops an ECG stream (µV, at the scenario's rate) and an accelerometer stream (mG, at
25 Hz), answering each request with an indication as the real strap does."""

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from edge.gatt.polar_pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    POLAR_EPOCH,
    PmdMeasurementType,
)
from edge.gatt.polar_pmd_control_point import (
    PmdControlPointResponse,
    PmdOpCode,
    PmdSettingType,
    PmdStatus,
    settings_bytes,
)
from edge.gatt.polar_pmd_data import PmdDataFrame
from edge.sim.ecg_waveform import EcgWaveform
from edge.sim.peripheral import Characteristic, Service
from edge.sim.physiology import Patient
from edge.sim.replay import RecordingReplay
from edge.sim.wearables.base import DeviceSpec, Value
from edge.sim.wearables.heart_rate import HeartRateStrap

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
POLAR_COMPANY_ID = 0x006B
_FRAME_S = 0.56  # a 130 Hz ECG frame holds about 73 samples
_ACC_HZ = 25.0
_ACC_FRAME_TYPE = 1  # 16-bit mG
_GRAVITY_MG = 1000.0
_MOTION_MG_PER_MV = 400.0


class EcgSource(Protocol):
    fs: float

    def samples_mv(self, first: int, count: int) -> npt.NDArray[np.float64]: ...


class _Stream:
    """One PMD stream: started by the control point, sending a frame every `_FRAME_S`."""

    def __init__(self, fs: float) -> None:
        self.fs = fs
        self.frame_samples = max(1, round(fs * _FRAME_S))
        self.running = False
        self.next_sample: int | None = None  # the first sample not sent, once running

    def frames_until(self, t: float) -> list[tuple[int, int]]:
        """(first sample, count) of each whole frame sampled by `t`."""
        if not self.running:
            return []
        if self.next_sample is None:
            self.next_sample = int(np.ceil(t * self.fs))
        frames = []
        while (self.next_sample + self.frame_samples) / self.fs <= t:
            frames.append((self.next_sample, self.frame_samples))
            self.next_sample += self.frame_samples
        return frames


class PolarH10(HeartRateStrap):
    profile: ClassVar[str] = "polar_h10"
    manufacturer: ClassVar[str] = "Polar Electro Oy"
    model: ClassVar[str] = "Polar H10"
    manufacturer_data: ClassVar[dict[int, bytes]] = {POLAR_COMPANY_ID: b"\x33\x1e"}

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        self._replay = RecordingReplay(Path(spec.replay)) if spec.replay else None
        self._ecg_source: EcgSource = self._replay or EcgWaveform(patient, spec.ecg_hz)
        self._motion = EcgWaveform(patient, _ACC_HZ)
        self._streams: dict[int, _Stream] = {PmdMeasurementType.ECG: _Stream(self._ecg_source.fs),
                         PmdMeasurementType.ACC: _Stream(_ACC_HZ)}
        super().__init__(spec, patient, epoch)

    def services(self) -> Sequence[Service]:
        return [*super().services(), Service(PMD_SERVICE, [
            Characteristic(PMD_CONTROL_POINT_UUID, ["read", "write", "indicate"],
                           on_write=self._control),
            Characteristic(PMD_DATA_UUID, ["notify"]),
        ])]

    def rr_intervals_s(self, start: float, end: float) -> list[float]:
        if self._replay is None:
            return super().rr_intervals_s(start, end)
        beats = self._replay.beats_between(max(0.0, start - 3.0), end)
        return [b - a for a, b in itertools.pairwise(beats) if b >= start]

    def link_lost(self) -> None:
        for stream in self._streams.values():
            stream.running = False
            stream.next_sample = None

    def values_until(self, t: float) -> list[Value]:
        values = super().values_until(t)
        ecg, acc = self._streams[PmdMeasurementType.ECG], self._streams[PmdMeasurementType.ACC]
        for first, count in ecg.frames_until(t):
            samples_uv = np.round(self._ecg_source.samples_mv(first, count) * 1000)
            values.append((PMD_DATA_UUID, PmdDataFrame.ecg(
                self._device_ns(first + count - 1, ecg.fs), samples_uv).to_bytes()))
        for first, count in acc.frames_until(t):
            values.append((PMD_DATA_UUID, self._acc_frame(first, count)))
        return values

    def _acc_frame(self, first: int, count: int) -> bytes:
        t = (first + np.arange(count)) / _ACC_HZ
        motion = self._motion.motion_mv(t) * _MOTION_MG_PER_MV
        xyz = np.column_stack([motion, 0.5 * motion, _GRAVITY_MG - 0.2 * motion])
        frame = PmdDataFrame(PmdMeasurementType.ACC, self._device_ns(first + count - 1, _ACC_HZ),
                             _ACC_FRAME_TYPE, False, np.round(xyz).astype(np.int32))
        return frame.to_bytes()

    def _device_ns(self, sample: int, fs: float) -> int:
        """The strap's own time stamp of a sample: ns since 2000, on its (drifting) clock."""
        at = self.epoch + sample / fs + self.clock_offset_s
        return round((at - POLAR_EPOCH.timestamp()) * 1e9)

    def _control(self, request: bytes) -> None:
        op_code, measurement = (request + b"\0\0")[:2]
        stream = self._streams.get(measurement)
        status, parameters = PmdStatus.SUCCESS, b""
        if stream is None:
            status = PmdStatus.INVALID_MEASUREMENT_TYPE
        elif op_code == PmdOpCode.REQUEST_MEASUREMENT_START:
            stream.running, stream.next_sample = True, None
        elif op_code == PmdOpCode.STOP_MEASUREMENT:
            stream.running = False
        elif op_code == PmdOpCode.GET_MEASUREMENT_SETTINGS:
            parameters = settings_bytes({PmdSettingType.SAMPLE_RATE: (round(stream.fs),)})
        else:
            status = PmdStatus.INVALID_OP_CODE
        self.answer(PMD_CONTROL_POINT_UUID, PmdControlPointResponse(
            op_code, measurement, status, False, parameters).to_bytes())
