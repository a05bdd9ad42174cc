"""Consent: which classes of a patient's data may leave the home. Messages of a class the
patient did not agree to are never queued; revoking a class also purges what is queued."""

from collections.abc import Iterable
from typing import Literal

from edge.config import ConsentSettings
from edge.messages.payloads import MessageClass, OutgoingMessage

ConsentClass = Literal["summaries", "events", "waveforms"]
CONSENT_CLASSES: dict[MessageClass, ConsentClass] = {
    "alert": "events", "event": "events", "summary": "summaries", "diagnostic": "summaries"}
_DEFAULT = ConsentSettings(patient="default")


class ConsentPolicy:
    def __init__(self, consents: Iterable[ConsentSettings] = ()) -> None:
        self._by_patient: dict[str, ConsentSettings] = {}
        self.update(consents)

    def allows(self, message: OutgoingMessage) -> bool:
        patient = message.patient_id
        if patient is None:
            return True  # the gateway's own messages carry no patient
        return self._agreed(patient, CONSENT_CLASSES[message.message_class])

    def _agreed(self, patient: str, consent_class: ConsentClass) -> bool:
        consent = self._by_patient.get(patient, _DEFAULT)
        return bool(getattr(consent, consent_class))

    def update(self, consents: Iterable[ConsentSettings]) -> dict[str, list[MessageClass]]:
        """Replace these patients' consent; return, per patient, the message classes it no
        longer allows, so that what is queued of them can be purged."""
        revoked: dict[str, list[MessageClass]] = {}
        for consent in consents:
            self._by_patient[consent.patient] = consent
            withdrawn = self.withheld(consent.patient)
            if withdrawn:
                revoked[consent.patient] = withdrawn
        return revoked

    def withheld(self, patient: str) -> list[MessageClass]:
        """The message classes of this patient that may not leave the home."""
        return [message_class for message_class, consent_class in CONSENT_CLASSES.items()
                if not self._agreed(patient, consent_class)]
