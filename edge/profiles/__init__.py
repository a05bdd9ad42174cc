"""Device profiles: what the gateway knows about each wearable model, loaded from
`device_profiles/*.toml`, so that no device model is named in code."""

from edge.profiles.profile import (
    Advertisement,
    DeviceProfile,
    best_match,
    configured_profiles,
    default_profiles_dir,
    load_profile,
    load_profiles,
    profiles_for,
)

__all__ = [
    "Advertisement",
    "DeviceProfile",
    "best_match",
    "configured_profiles",
    "default_profiles_dir",
    "load_profile",
    "load_profiles",
    "profiles_for",
]
