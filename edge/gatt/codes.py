"""Names for the numeric codes some characteristics carry, and flag fields without reserved bits."""

import enum
import functools
from collections.abc import Mapping
from typing import TypeVar

RESERVED = "reserved"
F = TypeVar("F", bound=enum.IntFlag)


def code_name(names: Mapping[int, str], code: int | None) -> str | None:
    """The name of a code, "reserved" for codes the specification keeps for future use."""
    if code is None:
        return None
    return names.get(code, RESERVED)


def known_flags(flag_type: type[F], raw: int) -> F:
    """The flags a value carries, without the bits reserved for future use (ignored on receipt)."""
    return flag_type(raw & _mask(flag_type))


@functools.cache
def _mask(flag_type: type[enum.IntFlag]) -> int:
    mask = 0
    for member in flag_type:
        mask |= member.value
    return mask
