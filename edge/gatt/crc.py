"""CRC-16/MCRF4XX, the E2E-CRC of the Continuous Glucose Monitoring and other medical services."""

_POLYNOMIAL_REFLECTED = 0x8408
_INITIAL = 0xFFFF


def _table_entry(byte: int) -> int:
    crc = byte
    for _ in range(8):
        crc = (crc >> 1) ^ _POLYNOMIAL_REFLECTED if crc & 1 else crc >> 1
    return crc


_TABLE = tuple(_table_entry(byte) for byte in range(256))


def crc16_mcrf4xx(data: bytes) -> int:
    """CRC-16/MCRF4XX: reflected polynomial 0x8408, initial value 0xFFFF, no final XOR."""
    crc = _INITIAL
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc
