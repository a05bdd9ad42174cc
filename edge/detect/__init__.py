"""Detectors: signals in, events out. Pure, synchronous, no I/O."""
