"""Radios that carry the virtual wearables of `edge.sim.wearables` (each implements
`edge.sim.peripheral.Radio`):

- `inprocess.InProcessRadio`: straight into the gateway in the same process, no radio at all;
- `emulated_bluez.EmulatedBluezRadio`: the emulated BlueZ, so the gateway's real bleak path
  connects to them;
- `bumble_radio.BumbleRadio`: bumble controllers, on a USB dongle, TCP, or bumble's in-process
  LocalLink (needs the `sim` extra; only those modules import bumble).
"""
