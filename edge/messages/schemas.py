"""The JSON Schemas shipped with the package, one per message type."""

import json
from importlib import resources
from typing import Any

MESSAGE_TYPES = ("summary", "event", "diagnostic", "status", "control_response", "selftest")


def load_schema(name: str) -> dict[str, Any]:
    """The schema for a message type, or `common` for the shared definitions."""
    text = resources.files(__package__).joinpath(f"schemas/{name}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema
