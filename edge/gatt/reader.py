"""A strict little-endian reader that names the field a packet is too short for."""

import struct

from edge.gatt.errors import DecodeError
from edge.gatt.ieee11073 import decode_float, decode_sfloat

_U16 = struct.Struct("<H")
_S16 = struct.Struct("<h")
_U32 = struct.Struct("<I")


class FieldReader:
    """Reads the fields of one characteristic value in order.

    `flag` is the flag bit that announced an optional field; it goes into the error message, so a
    log line says both what was missing and why it was expected.
    """

    __slots__ = ("_characteristic", "_data", "_offset")

    def __init__(self, characteristic: str, data: bytes, start: int = 0) -> None:
        self._characteristic = characteristic
        self._data = data
        self._offset = start

    def error(self, reason: str) -> DecodeError:
        return DecodeError(self._characteristic, reason)

    @property
    def position(self) -> int:
        return self._offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self._offset

    def u8(self, field: str, flag: int | None = None) -> int:
        return self._data[self._claim(1, field, flag)]

    def u16(self, field: str, flag: int | None = None) -> int:
        value: int = _U16.unpack_from(self._data, self._claim(2, field, flag))[0]
        return value

    def s16(self, field: str, flag: int | None = None) -> int:
        value: int = _S16.unpack_from(self._data, self._claim(2, field, flag))[0]
        return value

    def u24(self, field: str, flag: int | None = None) -> int:
        return int.from_bytes(self.take(3, field, flag), "little")

    def u32(self, field: str, flag: int | None = None) -> int:
        value: int = _U32.unpack_from(self._data, self._claim(4, field, flag))[0]
        return value

    def sfloat(self, field: str, flag: int | None = None) -> float | None:
        return decode_sfloat(self.u16(field, flag))

    def float32(self, field: str, flag: int | None = None) -> float | None:
        return decode_float(self.u32(field, flag))

    def take(self, size: int, field: str, flag: int | None = None) -> bytes:
        start = self._claim(size, field, flag)
        return self._data[start : start + size]

    def rest(self) -> bytes:
        start = self._offset
        self._offset = len(self._data)
        return self._data[start:]

    def expect_end(self, after: str) -> None:
        """Raise if bytes are left; `after` says what was expected, e.g. "the 7-byte date time"."""
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected trailing bytes after {after}")

    def _claim(self, size: int, field: str, flag: int | None) -> int:
        start = self._offset
        if start + size > len(self._data):
            raise self.error(self._short(size, field, flag))
        self._offset = start + size
        return start

    def _short(self, size: int, field: str, flag: int | None) -> str:
        if flag is None:
            return (f"{field}: need {size} bytes at offset {self._offset}, "
                    f"only {self.remaining} remain")
        return f"{field}: flag 0x{flag:02x} set but only {self.remaining} bytes remain, need {size}"


def flags_announce(flags: int) -> str:
    """The `after` text for expect_end in a characteristic that starts with a flags field."""
    return f"the fields flags 0x{flags:02x} announce"
