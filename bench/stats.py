"""Summary statistics of timing samples."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    median: float
    p95: float
    min: float
    max: float
    runs: int


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default method)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(samples: list[float]) -> Summary:
    return Summary(
        median=statistics.median(samples),
        p95=percentile(samples, 0.95),
        min=min(samples),
        max=max(samples),
        runs=len(samples),
    )
