"""Tests of WFDB reading and R-peak detection on ECG excerpts in tests/data/ecg."""
