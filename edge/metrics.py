from dataclasses import asdict, dataclass


@dataclass(slots=True)
class Counters:
    """What the gateway has done since it started; read by the demo and, later, by metrics."""

    notifications: int = 0
    decode_errors: int = 0
    # Packets that decoded but could not be processed: a bug, logged and counted, never fatal.
    pipeline_errors: int = 0
    unknown_devices: int = 0
    summaries: int = 0
    events: int = 0
    gaps: int = 0
    published: int = 0
    acknowledged: int = 0
    publish_failures: int = 0
    # Messages kept home because the patient did not consent to their class.
    withheld: int = 0
    connect_failures: int = 0
    # Connections that failed in TLS: a refused certificate, either side's.
    tls_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
