"""Offline evaluation of the gateway's detectors on recorded data."""
