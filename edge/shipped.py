"""Folders of data that ship with the gateway: device profiles and models."""

import sys
from pathlib import Path


def shipped_dir(name: str) -> Path:
    """The repository's top-level `name` folder when running from a checkout, else the copy
    installed under `<prefix>/share/edge/<name>`."""
    checkout = Path(__file__).resolve().parents[1] / name
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share/edge" / name
