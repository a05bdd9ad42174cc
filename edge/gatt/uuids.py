import re

_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"
_SHORT = re.compile(r"^(?:0x)?([0-9a-f]{4}|[0-9a-f]{8})$")
_FULL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def normalize_uuid(text: str) -> str:
    """Return the 128-bit lower-case form of a 16-, 32- or 128-bit Bluetooth UUID.

    Raises ValueError for anything that is not a UUID.
    """
    lowered = text.strip().lower()
    short = _SHORT.match(lowered)
    if short:
        return f"{short.group(1):0>8}{_BASE_SUFFIX}"
    if _FULL.match(lowered):
        return lowered
    raise ValueError(f"not a Bluetooth UUID: {text!r}")


def sig_uuid(short: int) -> str:
    """128-bit form of a 16-bit SIG-assigned UUID."""
    return f"{short:08x}{_BASE_SUFFIX}"
