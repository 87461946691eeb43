"""Run the registered benchmarks and write bench/results/RESULTS.md.

    python -m bench.run [--sizes 1000,10000] [--only NAME ...] [--repeat R] [--list]

Each benchmark family (a module in bench/benchmarks/) runs for every size (the
number of work items of a synthetic repository, generated once into bench/out/).
The table gives, per case and size, the median, the 95th percentile, the fastest
run and the number of timed runs; a warm-up run before each case is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import PROJECT_DIR, RESULTS_DIR
from bench.generate import read_marker
from bench.registry import Context, Measurement, format_seconds, load_all

DEFAULT_SIZES = (1000, 10_000)


def machine_info() -> dict[str, str]:
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "RAM": _memory(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, "
        f"{sys.executable})",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "project commit": _project_commit(),
        "load average at start": _load_average(),
    }


def _load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _project_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "tracker")
    return commit + (" (tracker/ has uncommitted changes)" if dirty else "")


def render_markdown(
    machine: dict[str, str],
    command: str,
    contexts: list[tuple[str, str, Context]],
    repos: dict[str, dict[str, Any]],
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}`. Times are wall-clock seconds of one whole operation; "
        "p95 interpolates between the closest runs, so with few runs it is close to the "
        "slowest. A warm-up run before each case is not counted. CPU is the user + system "
        "time of the benchmark process and of its children (worker processes, CLI "
        "processes): above the wall time when work runs in parallel. Other load is the share "
        "of the machine's CPU that other processes used, or the hypervisor stole, while a "
        "case ran (from /proc/stat): "
        "where it is high, the wall times are inflated; a run during which it exceeded the "
        "--max-other-load share is done again (at most as many times as the case has runs; "
        "the runs column counts them). Cases compared with each other (such as jobs=1 "
        "against the default) run interleaved.",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in machine.items()),
        "",
    ]
    if repos:
        lines += [
            "Synthetic repositories (`python -m bench.generate`; files exactly as the tool "
            "writes them):",
            "",
            "| items | record files | bytes per item | items with deps | deps | vendors "
            "| deployments | commits | seed | fan-out |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for info in sorted(repos.values(), key=lambda i: (i["params"]["items"], str(i))):
            stats, params = info["stats"], info["params"]
            lines.append(
                f"| {params['items']:,} | {stats['record_files']:,} "
                f"| {stats['average_item_bytes']} "
                f"| {stats['items_with_dependencies']:,} | {stats['dependencies']:,} "
                f"| {stats['vendors']} | {stats['deployments']} | {stats['commits']} "
                f"| {params['seed']} | {'yes' if params['fanout'] else 'no'} |"
            )
        lines.append("")
    for name, description, ctx in contexts:
        lines += [
            f"## {name}",
            "",
            description,
            "",
            "| case | items | median | p95 | min | runs | CPU (median) | other load | goal |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        lines += [_row(measurement) for measurement in ctx.measurements]
        if ctx.notes:
            lines.append("")
            lines += [f"- {note}" for note in ctx.notes]
        lines.append("")
    return "\n".join(lines)


def _row(measurement: Measurement) -> str:
    summary = measurement.summary
    goal = ""
    if measurement.goal is not None:
        verdict = "met" if measurement.goal.met_by(summary) else "**MISSED**"
        goal = f"{measurement.goal.describe()}: {verdict}"
    size = f"{measurement.size:,}" if measurement.size is not None else "—"
    cpu_median = measurement.cpu_median
    cpu = format_seconds(cpu_median) if cpu_median is not None else ""
    runs = f"{summary.runs}" + (
        f" (+{measurement.discarded} redone)" if measurement.discarded else ""
    )
    return (
        f"| {measurement.case} | {size} | {format_seconds(summary.median)} "
        f"| {format_seconds(summary.p95)} | {format_seconds(summary.min)} "
        f"| {runs} | {cpu} | {measurement.other_load:.0%} | {goal} |"
    )


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("sizes must be numbers of at least 10")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    registry = load_all()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--sizes", type=_sizes, default=list(DEFAULT_SIZES),
        help="comma-separated numbers of work items (default 1000,10000)",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="+", action="extend", metavar="NAME", choices=sorted(registry),
        help="run only these benchmarks",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, help="timed runs per case (overrides defaults)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic repositories")
    parser.add_argument(
        "--settle", type=float, default=30.0, metavar="SECONDS",
        help="before each timed run, wait up to this long for other load to drop (default 30)",
    )  # fmt: skip
    parser.add_argument(
        "--max-other-load", type=float, default=0.2, metavar="SHARE",
        help="redo a timed run when other processes used more than this share of the "
        "machine's CPU during it, at most as often as the case has runs (default 0.2)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "RESULTS.md", help="markdown results file"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, bench in sorted(registry.items()):
            print(f"{name}: {bench.description}")
        return 0
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")

    names = list(dict.fromkeys(args.only)) if args.only else sorted(registry)
    machine = machine_info()
    contexts: list[tuple[str, str, Context]] = []
    failed = False
    started = time.perf_counter()
    for name in names:
        bench = registry[name]
        print(f"{name}: {bench.description}", file=sys.stderr)
        ctx = Context(
            name, list(args.sizes), args.seed, args.repeat, args.settle, args.max_other_load
        )
        try:
            bench.function(ctx)
        except Exception as exc:  # one broken benchmark must not lose the others' results
            ctx.note(f"**FAILED**: {type(exc).__name__}: {exc}")
            failed = True
        contexts.append((name, bench.description, ctx))

    machine["load average at end"] = _load_average()
    repos: dict[str, dict[str, Any]] = {}
    for _, _, ctx in contexts:
        for path in ctx.repos_used:
            info = read_marker(path)
            if info is not None:
                repos[path.name] = info
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else list(argv))
    markdown = render_markdown(machine, command.strip(), contexts, repos)
    write_atomically(args.output, markdown)
    raw = {
        "machine": machine,
        "repositories": repos,
        "benchmarks": {
            name: {
                "measurements": [
                    {**asdict(m), "summary": asdict(m.summary)} for m in ctx.measurements
                ],
                "notes": ctx.notes,
            }
            for name, _, ctx in contexts
        },
    }
    write_atomically(args.output.with_suffix(".json"), json.dumps(raw, indent=2) + "\n")
    print(markdown)
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
