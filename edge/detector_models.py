"""The detector models a gateway runs, loaded from their packages; a model that is missing,
corrupt or fails its check is refused with the file and the reason, and the rule-based detector
takes its place."""

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from edge.analyze import AnalysisModels
from edge.config import ModelSettings
from edge.detect.af import AfSettings
from edge.detect.ectopy import DEFAULT_THRESHOLD
from edge.detect.rhythm import RhythmModels
from edge.inference import Model, ModelRefused, RuntimeUnavailable, load_model

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class DetectorModels:
    """Each None where the rule-based detector stands in."""

    af_rr: Model | None = None
    af_ecg: Model | None = None
    pvc: Model | None = None

    def af(self, ecg: bool) -> Model | None:
        """The AF model of an ECG stream (or, with `ecg` False, of an RR stream): the ECG model
        where one is loaded, else the RR model on the intervals between R peaks."""
        return self.af_ecg if ecg and self.af_ecg is not None else self.af_rr

    def rhythm(self, ecg: bool) -> RhythmModels:
        """What an ECG stream (or, with `ecg` False, an RR stream) is analysed with."""
        af = self.af(ecg)
        return RhythmModels(
            af=af,
            af_settings=AfSettings() if af is None else _af_settings(af),
            af_uses_ecg=af is not None and af is self.af_ecg,
            pvc=self.pvc.predict if self.pvc else None,
            pvc_threshold=(self.pvc.manifest.thresholds["pvc"] if self.pvc
                           else DEFAULT_THRESHOLD),
        )

    def replacing(self, model: Model, settings: ModelSettings) -> "DetectorModels":
        """These models with `model` in the slot the settings give its name."""
        slots = {settings.af: "af_rr", settings.af_ecg: "af_ecg", settings.pvc: "pvc"}
        return dataclasses.replace(self, **{slots[model.name]: model})

    def analysis(self) -> AnalysisModels:
        rhythm = self.rhythm(ecg=True)
        af = self.af(ecg=True)
        if af is None:
            return AnalysisModels(rhythm, names=(("af", "rules"),
                                                 ("pvc", model_name(self.pvc))))
        return AnalysisModels(rhythm, af.manifest.thresholds["af_record"],
                              (("af", model_name(af)), ("pvc", model_name(self.pvc))))


def _af_settings(model: Model) -> AfSettings:
    """The window and threshold the model was chosen and measured with."""
    defaults = AfSettings()
    return AfSettings(
        window_beats=int(model.manifest.card.get("window_beats", defaults.window_beats)),
        step_beats=int(model.manifest.card.get("window_step_beats", defaults.step_beats)),
        threshold=model.manifest.thresholds["af"])


def detector(model: Model | None) -> dict[str, str]:
    """How a message names the detector that made it."""
    if model is None:
        return {"name": "rules"}
    return {"name": model.name, "version": model.version}


def model_name(model: Model | None) -> str:
    return "rules" if model is None else f"{model.name} {model.version}"


def load_detector_models(settings: ModelSettings, folder: Path,
                         updated: Path | None = None) -> DetectorModels:
    """The models named in `settings`, from `folder`; a package of the same name in `updated`
    (installed by a remote update) comes first, while it loads."""
    return DetectorModels(af_rr=_model(folder, settings.af, settings, updated),
                          af_ecg=_model(folder, settings.af_ecg, settings, updated),
                          pvc=_model(folder, settings.pvc, settings, updated))


def load_configured(manifest: Path, settings: ModelSettings) -> Model:
    """The model of `manifest` on the configured backend and precision (or ModelRefused)."""
    return load_model(manifest, None if settings.backend == "auto" else settings.backend,
                      settings.precision)


def _model(folder: Path, package: str, settings: ModelSettings,
           updated: Path | None) -> Model | None:
    if not package:
        return None
    if updated is not None and (updated / package / "manifest.json").exists():
        try:
            return load_configured(updated / package / "manifest.json", settings)
        except (ModelRefused, RuntimeUnavailable) as error:
            log.error("updated model refused, using the configured one: %s", error)
    try:
        model = load_configured(folder / package / "manifest.json", settings)
    except (ModelRefused, RuntimeUnavailable) as error:
        log.error("model refused, using rule-based detection instead: %s", error)
        return None
    log.info("model %s %s loaded (%s, %s)", model.name, model.version, model.backend,
             model.precision)
    return model
