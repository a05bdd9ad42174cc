"""Remote updates, as the care team sends them to `edge/v1/{gateway}/control/update`.

A config update's body is JSON: {"consent": [{"patient": ..., "summaries": ..., "events": ...,
"waveforms": ...}], "limits": {"<device id>": {"heart_rate_high_bpm": 130, ...}}}; either part
may be left out. A model update's body is JSON: {"files": {"manifest.json": "<base64>",
"<model file>": "<base64>", ...}}: a model package, which must name a model this gateway runs.
It is written beside the running model, loaded and checked against its reference outputs, and
only then swapped in; on any failure the old model keeps running.

Every update, taken or refused, is written to the audit log and answered on
`edge/v1/{gateway}/control/response`. What was taken is kept (`remote.json`, mode 0600) and
applied again at the next start; the config file is never written.
"""

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from edge.config import ClinicianLimitSettings, Config, ConsentSettings
from edge.control.audit import AuditLog
from edge.control.signing import SignedUpdate, UpdateRefused, load_public_key, verify
from edge.detect.vitals import ClinicianLimits
from edge.inference import Model, ModelRefused, RuntimeUnavailable
from edge.messages.payloads import TOPIC_ROOT, OutgoingMessage, utc_iso
from edge.typed_toml import ConfigError, build

log = logging.getLogger(__name__)


class Targets(Protocol):
    """What remote updates change in a running gateway."""

    def apply_consent(self, consents: Sequence[ConsentSettings]) -> None: ...

    def set_clinician_limits(self, device_id: str, limits: ClinicianLimits) -> None: ...

    def device_ids(self) -> list[str]: ...

    def load_model(self, manifest: Path) -> Model: ...

    def swap_model(self, model: Model) -> None: ...

    def model_names(self) -> list[str]: ...


def update_topic(gateway_id: str) -> str:
    return f"{TOPIC_ROOT}/{gateway_id}/control/update"


class RemoteControl:
    def __init__(self, config: Config, targets: Targets, clock: Callable[[], float]) -> None:
        self._gateway_id = config.gateway.id
        self._targets = targets
        self._clock = clock
        key_file = config.control.public_key_file
        self._key_path = config.base_dir / key_file if key_file else None
        self._state_path = config.data_path / "remote.json"
        self.models_path = config.data_path / "models"
        self._audit = AuditLog(config.data_path / "audit.log")
        self._state: dict[str, Any] = {"versions": {}, "consent": [], "limits": {}}
        if self._state_path.exists():
            self._state = json.loads(self._state_path.read_text(encoding="utf-8"))

    def reapply(self) -> None:
        """What earlier updates changed, again (at start)."""
        consent = [ConsentSettings(**c) for c in self._state["consent"]]
        if consent:
            self._targets.apply_consent(consent)
        for device_id, limits in self._state["limits"].items():
            if device_id in self._targets.device_ids():
                self._targets.set_clinician_limits(device_id, ClinicianLimits(**limits))

    def handle(self, envelope: bytes) -> OutgoingMessage:
        """Check and apply one update; the answer to publish."""
        update: SignedUpdate | None = None
        try:
            if self._key_path is None:
                raise UpdateRefused("no public key is provisioned (control.public_key_file): "
                                    "this gateway takes no remote updates")
            update = verify(envelope, load_public_key(self._key_path), self._clock(),
                            self._state["versions"])
            detail = self._apply(update)
        except UpdateRefused as refusal:
            return self._answer(envelope, update, False, str(refusal))
        self._state["versions"][update.kind] = update.version
        self._save_state()
        return self._answer(envelope, update, True, detail)

    def _apply(self, update: SignedUpdate) -> str:
        try:
            body = json.loads(update.body)
        except (ValueError, UnicodeDecodeError):
            raise UpdateRefused("body: not JSON") from None
        if not isinstance(body, dict):
            raise UpdateRefused("body: not a JSON object")
        return self._apply_config(body) if update.kind == "config" else self._apply_model(body)

    def _apply_config(self, body: dict[str, Any]) -> str:
        unknown = set(body) - {"consent", "limits"}
        if unknown:
            raise UpdateRefused(f"body: unknown keys {sorted(unknown)}")
        try:
            consent = [build(ConsentSettings, c, "consent") for c in body.get("consent", [])]
            limits = {device: build(ClinicianLimitSettings, table, f"limits.{device}")
                      for device, table in body.get("limits", {}).items()}
        except (ConfigError, TypeError, AttributeError) as error:
            raise UpdateRefused(f"body: {error}") from None
        missing = sorted(set(limits) - set(self._targets.device_ids()))
        if missing:
            raise UpdateRefused(f"limits: no device {', '.join(missing)} on this gateway")
        self._targets.apply_consent(consent)
        for device_id, settings in limits.items():
            self._targets.set_clinician_limits(
                device_id, ClinicianLimits(**dataclasses.asdict(settings)))
        known = {c["patient"]: c for c in self._state["consent"]}
        known.update({c.patient: dataclasses.asdict(c) for c in consent})
        self._state["consent"] = list(known.values())
        self._state["limits"].update({d: dataclasses.asdict(s) for d, s in limits.items()})
        return (f"consent of {len(consent)} patient(s) and limits of {len(limits)} device(s) "
                "in effect")

    def _apply_model(self, body: dict[str, Any]) -> str:
        files = body.get("files")
        if not isinstance(files, dict) or "manifest.json" not in files:
            raise UpdateRefused("body: files with a manifest.json are needed")
        staging = self.models_path / f".staging-{uuid.uuid4().hex}"
        try:
            _write_package(staging, files)
            model = self._targets.load_model(staging / "manifest.json")
            if model.name not in self._targets.model_names():
                raise UpdateRefused(f"model {model.name!r} is not one this gateway runs "
                                    f"({', '.join(self._targets.model_names())})")
            installed = self.models_path / model.name
            model = self._install(staging, installed)
        except (ModelRefused, RuntimeUnavailable) as error:
            raise UpdateRefused(f"model refused: {error}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._targets.swap_model(model)
        return f"model {model.name} {model.version} running ({model.backend}, {model.precision})"

    def _install(self, staging: Path, installed: Path) -> Model:
        """Move the checked package into place, replacing the previous update of that model,
        and load it from there."""
        previous = installed.with_name(f".previous-{installed.name}")
        shutil.rmtree(previous, ignore_errors=True)
        if installed.exists():
            installed.rename(previous)
        staging.rename(installed)
        try:
            model = self._targets.load_model(installed / "manifest.json")
        except (ModelRefused, RuntimeUnavailable):
            shutil.rmtree(installed, ignore_errors=True)
            if previous.exists():
                previous.rename(installed)
            raise
        shutil.rmtree(previous, ignore_errors=True)
        return model

    def _save_state(self) -> None:
        temporary = self._state_path.with_name(".remote.json.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(self._state, file)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(self._state_path)

    def _answer(self, envelope: bytes, update: SignedUpdate | None, accepted: bool,
                reason: str) -> OutgoingMessage:
        fields = _loose_fields(envelope)
        kind, version = (update.kind, update.version) if update else (
            fields.get("kind") if isinstance(fields.get("kind"), str) else None,
            fields.get("version") if isinstance(fields.get("version"), int) else None)
        now = self._clock()
        self._audit.append({"at": utc_iso(now), "kind": kind, "version": version,
                            "accepted": accepted, "reason": reason,
                            "envelope_sha256": _sha256(envelope)})
        (log.info if accepted else log.warning)(
            "remote %s update %s %s: %s", kind or "?", version if version is not None else "?",
            "taken" if accepted else "refused", reason)
        payload = {"schema": "edge.control_response", "schema_version": 1,
                   "message_id": str(uuid.uuid4()), "gateway_id": self._gateway_id,
                   "created_at": utc_iso(now), "kind": kind, "version": version,
                   "accepted": accepted, "reason": reason}
        return OutgoingMessage("control/response",
                               f"{TOPIC_ROOT}/{self._gateway_id}/control/response", payload)


def _write_package(folder: Path, files: dict[str, Any]) -> None:
    folder.mkdir(mode=0o700, parents=True)
    for name, encoded in files.items():
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise UpdateRefused(f"files: {name!r} is not a plain file name")
        try:
            (folder / name).write_bytes(base64.b64decode(str(encoded), validate=True))
        except (binascii.Error, ValueError):
            raise UpdateRefused(f"files: {name}: not base64") from None


def _loose_fields(envelope: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(envelope)
    except (ValueError, UnicodeDecodeError):
        return {}
    return fields if isinstance(fields, dict) else {}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
