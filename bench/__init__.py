"""Benchmarks: speed goals live here, never in timed tests. Run with `make bench`."""
