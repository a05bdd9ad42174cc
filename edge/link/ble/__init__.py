"""Bluetooth LE through bleak: one long-lived scanner, and a connection state machine per
provisioned device."""
