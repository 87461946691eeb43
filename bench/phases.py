"""Phase timers for the benchmarks' child processes, and how their results read.

`TIMERS` is Python source a child script starts with: `install_timers(phases)` wraps
tracker functions so that each call's time, exclusive of the wrapped functions it calls,
adds up in `TIMES` under the phase's label.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.registry import Context, Goal, Measurement

TIMERS = r"""
import functools, importlib, time
TIMES = {}
_STACK = []

def _timed(function, label, parents):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        if parents is not None and (not _STACK or _STACK[-1][0] not in parents):
            return function(*args, **kwargs)
        frame = [label, 0.0]
        _STACK.append(frame)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            _STACK.pop()
            TIMES[label] = TIMES.get(label, 0.0) + elapsed - frame[1]
            if _STACK:
                _STACK[-1][1] += elapsed
    return timed

def install_timers(phases):
    missing = []
    for module, attribute, label, parents in phases:
        try:
            owner = importlib.import_module(module)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        except (ImportError, AttributeError, KeyError):
            missing.append(f"{module}.{attribute}")
            continue
        parents = set(parents) if parents is not None else None
        if isinstance(raw, (classmethod, staticmethod)):
            wrapped = type(raw)(_timed(raw.__func__, label, parents))
        else:
            wrapped = _timed(raw, label, parents)
        setattr(owner, name, wrapped)
    return missing
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"


def phase_text(phases: dict[str, float], total: float) -> str:
    """'total 120 ms = a 80 + b 30 + other 10' with the biggest phases first."""
    parts = sorted(((v, k) for k, v in phases.items() if v >= 0.00005), reverse=True)
    rest = total - sum(phases.values())
    text = " + ".join(f"{name} {ms(value)}" for value, name in parts)
    if abs(rest) >= 0.00005:
        text += f" + unattributed {ms(rest)}"
    return f"{ms(total)} ms = {text}"


def median_run(samples: list[float]) -> int:
    """The index of the run whose time is the median (the upper one of an even count),
    whose phases a note shows."""
    return sorted(range(len(samples)), key=lambda i: samples[i])[len(samples) // 2]


@dataclass
class ChildRuns:
    """The timed runs of one case in child processes: each child's answer (its `seconds`,
    `phases` and, where it measured it, `cpu`) and the machine's other load meanwhile."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    others: list[float] = field(default_factory=list)

    def add(self, answer: dict[str, Any], other: float) -> None:
        self.answers.append(answer)
        self.others.append(other)

    @property
    def samples(self) -> list[float]:
        return [answer["seconds"] for answer in self.answers]

    def record(
        self, ctx: Context, case: str, size: int | None, goal: Goal | None = None
    ) -> Measurement:
        measurement = ctx.record(case, size, self.samples, goal)
        measurement.cpu_samples = [answer["cpu"] for answer in self.answers if "cpu" in answer]
        measurement.other_load = statistics.mean(self.others) if self.others else 0.0
        return measurement

    @property
    def median(self) -> dict[str, Any]:
        """The answer of the median run, whose phases a note shows."""
        return self.answers[median_run(self.samples)]

    def median_phases(self) -> str:
        return phase_text(self.median["phases"], self.median["seconds"])
