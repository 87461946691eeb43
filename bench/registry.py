"""The benchmark registry, and the context a benchmark runs in.

A benchmark family is one module in bench/benchmarks/ with one function
decorated with `@benchmark(...)`. The function receives a `Context`, asks it for
synthetic repositories (`ctx.repo(size)`) and times cases with `ctx.time(...)`,
or several cases to be compared, interleaved, with `ctx.time_cases(...)`; it may
add notes (ratios, caveats) with `ctx.note(...)`. The runner turns the
measurements into the results table.

    @benchmark("validate", "tracker validate of the whole tracker")
    def run(ctx: Context) -> None:
        for size in ctx.sizes:
            root = ctx.repo(size) / ".tracker"
            ctx.time("in-process", size, partial(validate_root, root), repeat=5,
                     goal=Goal(5.0, "p95") if size >= 10_000 else None)
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
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
    # Share of the machine's CPU that other processes used while this case ran (0-1).
    other_load: float = 0.0
    discarded: int = 0  # runs thrown away and done again because other load was too high

    @property
    def summary(self) -> Summary:
        return summarize(self.samples)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_samples) if self.cpu_samples else None


@dataclass(frozen=True)
class Case:
    """One thing to time: `function` is called once per run."""

    name: str
    function: Callable[[], object]
    goal: Goal | None = None
    check: Callable[[object], None] | None = None  # raises if the result is wrong


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
    settle: float = 0.0  # --settle: wait up to this long for other load to drop before a run
    max_other_load: float = 1.0  # --max-other-load: redo a run when others used more than this
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
        settle_each: bool = True,
    ) -> Measurement:
        """Time one case: `warmup` untimed calls, then `repeat` timed ones."""
        cases = [Case(case, function, goal, check)]
        return self.time_cases(
            size, cases, repeat=repeat, minimum=minimum, warmup=warmup, settle_each=settle_each
        )[0]

    def time_cases(
        self,
        size: int | None,
        cases: Sequence[Case],
        *,
        repeat: int,
        minimum: int = 1,
        warmup: int = 1,
        settle_each: bool = True,
    ) -> list[Measurement]:
        """Time cases that are to be compared, interleaved (A B A B ...).

        Interleaving spreads drift (other load, CPU frequency, caches) evenly over
        the cases, so their ratio means something even on a busy machine. Each
        case's `check` sees its first result and raises if the case did not do
        what it claims to measure.
        """
        runs = self.repeats(repeat, minimum)
        for case in cases:
            for index in range(warmup):
                result = case.function()
                if index == 0 and case.check is not None:
                    case.check(result)
        samples: list[list[float]] = [[] for _ in cases]
        cpu_samples: list[list[float]] = [[] for _ in cases]
        others: list[float] = [0.0 for _ in cases]
        cores = os.cpu_count() or 1
        discarded = [0 for _ in cases]
        # Millisecond operations measured many times wait for a quiet machine once, not per run.
        wait_for_quiet(self.settle)
        for run in range(runs):
            for index, case in enumerate(cases):
                while True:
                    if settle_each:
                        wait_for_quiet(self.settle)
                    gc.collect()
                    machine_started = machine_busy_seconds()
                    cpu_started = own_cpu_seconds()
                    started = time.perf_counter()
                    result = case.function()
                    wall = time.perf_counter() - started
                    cpu = own_cpu_seconds() - cpu_started
                    other = max(0.0, machine_busy_seconds() - machine_started - cpu)
                    if run == 0 and warmup == 0 and case.check is not None:
                        case.check(result)
                    # A run slowed by other processes is done again, a limited number of times.
                    noisy = other / (cores * wall) > self.max_other_load
                    if not noisy or discarded[index] >= runs:
                        break
                    discarded[index] += 1
                samples[index].append(wall)
                cpu_samples[index].append(cpu)
                others[index] += other
        measurements = []
        for index, case in enumerate(cases):
            other_load = others[index] / (cores * sum(samples[index]))
            measurement = Measurement(
                self.benchmark,
                case.name,
                size,
                samples[index],
                cpu_samples[index],
                case.goal,
                min(1.0, other_load),
                discarded[index],
            )
            self.measurements.append(measurement)
            measurements.append(measurement)
            summary = measurement.summary
            where = f" @ {size}" if size is not None else ""
            print(
                f"  {self.benchmark}: {case.name}{where}: median "
                f"{format_seconds(summary.median)}, p95 {format_seconds(summary.p95)} "
                f"({summary.runs} runs, other load {other_load:.0%}, "
                f"{discarded[index]} noisy runs redone)",
                file=sys.stderr,
            )
        return measurements

    def record(
        self, case: str, size: int | None, samples: list[float], goal: Goal | None = None
    ) -> Measurement:
        """Samples timed elsewhere (e.g. in a clean child process), reported like the others."""
        measurement = Measurement(self.benchmark, case, size, samples, [], goal)
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


def own_cpu_seconds() -> float:
    """CPU time of this process and of its children that have been waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float:
    """CPU time used since boot by all processes, plus time stolen by the hypervisor.

    From Linux's /proc/stat (0 elsewhere). Steal counts as load: it is CPU time
    this machine wanted and did not get.
    """
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return 0.0
    # cpu user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


QUIET_LOAD = 0.10  # share of the machine's CPU that other processes may use when "quiet"


def wait_for_quiet(limit: float, probe: float = 0.5) -> float:
    """Wait (at most `limit` seconds) until the machine is nearly idle; the seconds waited."""
    if limit <= 0:
        return 0.0
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        busy = machine_busy_seconds()
        time.sleep(probe)
        if (machine_busy_seconds() - busy) / (cores * probe) < QUIET_LOAD:
            break
    return time.perf_counter() - started


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"
