"""Current Time (0x2A2B), Current Time Service 1.1, section 3.1: Exact Time 256 and the reason
for the last adjustment."""

import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import code_name, known_flags
from edge.gatt.date_time import DateTime, read_date_time
from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "Current Time"
_MICROSECONDS_PER_SECOND = 1_000_000
_FRACTIONS_PER_SECOND = 256
DAYS_OF_WEEK = {0: "unknown", 1: "monday", 2: "tuesday", 3: "wednesday", 4: "thursday",
                5: "friday", 6: "saturday", 7: "sunday"}


class AdjustReason(enum.IntFlag):
    MANUAL_TIME_UPDATE = 1 << 0
    EXTERNAL_REFERENCE_TIME_UPDATE = 1 << 1
    CHANGE_OF_TIME_ZONE = 1 << 2
    CHANGE_OF_DST = 1 << 3


NOT_ADJUSTED = AdjustReason(0)


@dataclass(frozen=True, slots=True)
class CurrentTime:
    UUID: ClassVar[str] = sig_uuid(0x2A2B)
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("day_of_week_name", "datetime")

    date_time: DateTime
    # 0 unknown, 1 Monday .. 7 Sunday.
    day_of_week: int
    fractions256: int
    adjust_reason: AdjustReason = NOT_ADJUSTED

    @property
    def day_of_week_name(self) -> str | None:
        return code_name(DAYS_OF_WEEK, self.day_of_week)

    @property
    def datetime(self) -> dt.datetime | None:
        """The device's local time, to the microsecond, or None if its date is not known."""
        moment = self.date_time.datetime
        if moment is None:
            return None
        microseconds = round(self.fractions256 * _MICROSECONDS_PER_SECOND / _FRACTIONS_PER_SECOND)
        return moment.replace(microsecond=microseconds)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        date_time = read_date_time(reader, "date time")
        day_of_week = reader.u8("day of week")
        if day_of_week not in DAYS_OF_WEEK:
            raise reader.error(f"day of week: {day_of_week} out of range 0..7")
        fractions = reader.u8("fractions256")
        reason = known_flags(AdjustReason, reader.u8("adjust reason"))
        reader.expect_end("the 10-byte current time")
        return cls(date_time, day_of_week, fractions, reason)

    @classmethod
    def from_datetime(cls, moment: dt.datetime, reason: AdjustReason = NOT_ADJUSTED) -> Self:
        fractions = moment.microsecond * _FRACTIONS_PER_SECOND // _MICROSECONDS_PER_SECOND
        return cls(DateTime.from_datetime(moment), moment.isoweekday(), fractions, reason)

    def to_bytes(self) -> bytes:
        return self.date_time.to_bytes() + bytes([self.day_of_week, self.fractions256,
                                                  self.adjust_reason])
