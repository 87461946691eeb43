"""Benchmarks of the tracker: a synthetic repository generator, a registry and a runner.

`python -m bench.generate` builds a synthetic tracker repository;
`python -m bench.run` runs every registered benchmark and writes bench/results/RESULTS.md.
"""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / "out"  # generated repositories (gitignored)
RESULTS_DIR = BENCH_DIR / "results"
