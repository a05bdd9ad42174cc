"""Radios that serve the virtual wearables of `edge.sim.bluez.peripheral`: bumble, on any of its
transports (an in-process LocalLink, a USB dongle, TCP). Only this package imports bumble."""

from edge.sim.radio.bumble_peripheral import (
    BumblePeripheral,
    advertising_data,
    attach,
    bumble_uuid,
    serve,
)

__all__ = ["BumblePeripheral", "advertising_data", "attach", "bumble_uuid", "serve"]
