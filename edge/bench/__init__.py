"""Benchmarks behind `edge bench`: figures recorded in docs/BENCHMARKS.md come from here."""
