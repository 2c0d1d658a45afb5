"""Benchmarks: every figure is reported next to a reference measured in the same run."""
