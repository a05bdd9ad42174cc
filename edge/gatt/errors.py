class DecodeError(ValueError):
    """Bytes from a device that do not form a valid value of their characteristic.

    The message names the characteristic and the field or flag that was wrong, so that a
    technician reading a log line knows what the device sent.
    """

    def __init__(self, characteristic: str, reason: str) -> None:
        super().__init__(f"{characteristic}: {reason}")
        self.characteristic = characteristic
        self.reason = reason
