"""Date Time (0x2A08), GATT Specification Supplement 3.70; also the time stamp inside measurements.

Year 0, month 0 and day 0 mean "not known"; the fields are kept as sent and `datetime` is None
unless the whole date is known.
"""

import datetime as dt
import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "Date Time"
_FIELDS = struct.Struct("<HBBBBB")
_UNKNOWN = 0
_FIRST_YEAR = 1582
_LAST_YEAR = 9999
_RANGES = (("month", 0, 12), ("day", 0, 31), ("hours", 0, 23), ("minutes", 0, 59),
           ("seconds", 0, 59))


@dataclass(frozen=True, slots=True)
class DateTime:
    UUID: ClassVar[str] = sig_uuid(0x2A08)
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("datetime",)

    year: int
    month: int
    day: int
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @property
    def datetime(self) -> dt.datetime | None:
        """The local date and time the device meant, or None if its date is not known."""
        if _UNKNOWN in (self.year, self.month, self.day):
            return None
        return dt.datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        fields = _read_checked(reader, "date time", None)
        reader.expect_end("the 7-byte date time")
        return cls(*fields)

    @classmethod
    def from_datetime(cls, moment: dt.datetime) -> Self:
        return cls(moment.year, moment.month, moment.day, moment.hour, moment.minute,
                   moment.second)

    def to_bytes(self) -> bytes:
        return _FIELDS.pack(self.year, self.month, self.day, self.hours, self.minutes,
                            self.seconds)


def read_date_time(reader: FieldReader, field: str, flag: int | None = None) -> DateTime:
    """Read and check a 7-byte date time; the error names `field`."""
    return DateTime(*_read_checked(reader, field, flag))


def _read_checked(reader: FieldReader, field: str, flag: int | None) -> tuple[int, ...]:
    values: tuple[int, ...] = _FIELDS.unpack(reader.take(_FIELDS.size, field, flag))
    problem = _problem(*values)
    if problem:
        raise reader.error(f"{field}: {problem}")
    return values


def _problem(year: int, *rest: int) -> str | None:
    if year != _UNKNOWN and not _FIRST_YEAR <= year <= _LAST_YEAR:
        return f"year {year} out of range {_FIRST_YEAR}..{_LAST_YEAR} (or 0 for unknown)"
    for (name, low, high), value in zip(_RANGES, rest, strict=True):
        if not low <= value <= high:
            return f"{name} {value} out of range {low}..{high}"
    month, day = rest[0], rest[1]
    if _UNKNOWN not in (year, month, day):
        try:
            dt.date(year, month, day)
        except ValueError:
            return f"{year:04d}-{month:02d}-{day:02d} is not a date"
    return None
