"""The benchmark registry, and the context a benchmark runs in.

A benchmark family is one module in bench/benchmarks/ with one function
decorated with `@benchmark(...)`. The function receives a `Context`, asks it for
synthetic repositories (`ctx.repo(size)`) and times cases with `ctx.time(...)`;
the runner turns the measurements into the results table.

    @benchmark("validate", "tracker validate of the whole tracker")
    def run(ctx: Context) -> None:
        for size in ctx.sizes:
            root = ctx.repo(size) / ".tracker"
            ctx.time("in-process", size, lambda: validate_root(root), repeat=5)
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.generate import GenParams, ensure_repo
from bench.stats import Summary, summarize

Stat = Literal["median", "p95"]


@dataclass(frozen=True)
class Goal:
    """A target a case must meet: `stat` of its samples below `seconds`."""

    seconds: float
    stat: Stat = "p95"

    def met_by(self, summary: Summary) -> bool:
        value: float = getattr(summary, self.stat)
        return value < self.seconds

    def describe(self) -> str:
        return f"{self.stat} < {format_seconds(self.seconds)}"


@dataclass
class Measurement:
    benchmark: str
    case: str
    size: int | None  # number of work items of the repository, if one was used
    samples: list[float]  # wall-clock seconds
    cpu_samples: list[float] = field(default_factory=list)  # CPU seconds, children included
    goal: Goal | None = None

    @property
    def summary(self) -> Summary:
        return summarize(self.samples)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_samples) if self.cpu_samples else None


BenchFunction = Callable[["Context"], None]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    function: BenchFunction
    module: str


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[BenchFunction], BenchFunction]:
    """Register a benchmark family under `name`."""

    def register(function: BenchFunction) -> BenchFunction:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Benchmark(name, description, function, function.__module__)
        return function

    return register


def load_all() -> dict[str, Benchmark]:
    """Import every module of bench.benchmarks so that each registers itself."""
    import bench.benchmarks as package

    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return REGISTRY


@dataclass
class Context:
    """What a running benchmark can use: sizes, repeat override, repositories, timing, notes."""

    benchmark: str
    sizes: list[int]
    seed: int = 1
    repeat: int | None = None  # --repeat: overrides every case's default
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repos_used: list[Path] = field(default_factory=list)

    def repo(self, size: int, fanout: bool = False, history: int = 20) -> Path:
        """A synthetic repository with `size` work items (generated once, then cached)."""
        path = ensure_repo(GenParams(size, self.seed, history, fanout))
        if path not in self.repos_used:
            self.repos_used.append(path)
        return path

    def repeats(self, default: int, minimum: int = 1) -> int:
        return max(minimum, self.repeat if self.repeat is not None else default)

    def time(
        self,
        case: str,
        size: int | None,
        function: Callable[[], object],
        *,
        repeat: int,
        minimum: int = 1,
        warmup: int = 1,
        goal: Goal | None = None,
        check: Callable[[object], None] | None = None,
    ) -> Measurement:
        """Call `function` `warmup` times untimed, then time it `repeat` times.

        `check` sees the first result (of the warmup, or of the first timed call)
        and raises if the benchmark did not do what it claims to measure.
        """
        runs = self.repeats(repeat, minimum)
        checked = check is None
        for _ in range(warmup):
            result = function()
            if not checked and check is not None:
                check(result)
                checked = True
        samples, cpu_samples = [], []
        for _ in range(runs):
            gc.collect()
            cpu_started = _cpu_seconds()
            started = time.perf_counter()
            result = function()
            samples.append(time.perf_counter() - started)
            cpu_samples.append(_cpu_seconds() - cpu_started)
            if not checked and check is not None:
                check(result)
                checked = True
        measurement = Measurement(self.benchmark, case, size, samples, cpu_samples, goal)
        self.measurements.append(measurement)
        summary = measurement.summary
        where = f" @ {size}" if size is not None else ""
        print(
            f"  {self.benchmark}: {case}{where}: median {format_seconds(summary.median)}, "
            f"p95 {format_seconds(summary.p95)} ({summary.runs} runs)",
            file=sys.stderr,
        )
        return measurement

    def note(self, text: str) -> None:
        """A line printed under the results table (a ratio, a caveat)."""
        self.notes.append(text)
        print(f"  {self.benchmark}: {text}", file=sys.stderr)


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have been waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"
