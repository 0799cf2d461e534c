"""Benchmarks: ``python -m bench.run_all`` writes docs/benchmarks.md (see bench/run_all.py)."""
