"""Recorded physiological data on disk: reading PhysioNet WFDB records and their annotations."""
