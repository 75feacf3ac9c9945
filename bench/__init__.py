"""Benchmarks: our service against bare baselines (see bench/README.md); not part of the tests."""
