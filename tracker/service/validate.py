"""`tracker validate`: every file's schema plus the rules that span files."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tracker.constants import CONFIG_FILE
from tracker.errors import NotFound, Problem
from tracker.model.kinds import kind_for_path
from tracker.model.parse import parse_loaded
from tracker.model.rules import (
    RecordLinks,
    check_links,
    links_of,
    links_of_invalid,
    links_of_unreadable,
)
from tracker.model.yaml_read import YamlProblem, load_yaml_bytes, load_yaml_file
from tracker.store.staged import iter_staged_files
from tracker.store.tree import find_tracker_root, iter_record_files

CheckResult = tuple[list[Problem], RecordLinks | None]
PARALLEL_THRESHOLD = 400  # below this, starting worker processes costs more than it saves


@dataclass
class ValidationReport:
    root: Path
    files_checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    text = path.as_posix()
    base = _cwd_prefix()
    return text[len(base) :] if text.startswith(base) else text


def _cwd_prefix() -> str:
    return Path.cwd().as_posix().rstrip("/") + "/"


FileEntry = tuple[str, Path, bytes | None]  # relative path, absolute path, content if not on disk


def check_file(relative: str, absolute: Path, content: bytes | None = None) -> CheckResult:
    shown = display_path(absolute)
    kind = kind_for_path(relative)
    if kind is None:
        return [Problem(shown, 0, "", "not a tracker file: record files end in .yaml")], None
    try:
        if content is None:
            loaded = load_yaml_file(str(absolute), shown)
        else:
            loaded = load_yaml_bytes(content, shown)
    except YamlProblem as exc:
        # Unreadable, but it still exists: links to it are not reported as dangling too.
        return [Problem(exc.path, exc.line, exc.field, exc.message)], links_of_unreadable(
            kind, relative, shown
        )
    record, problems = parse_loaded(loaded, kind)
    if record is None:
        # Keep its key and links: files pointing at it should not be reported as well.
        return problems, links_of_invalid(kind, loaded)
    return problems, links_of(record, kind, loaded)


def _check_batch(batch: list[FileEntry]) -> list[CheckResult]:
    return [check_file(relative, absolute, content) for relative, absolute, content in batch]


def validate_root(
    root: Path, only: set[Path] | None = None, staged: bool = False, jobs: int | None = None
) -> ValidationReport:
    """Validate a tracker root, from the working tree or (staged) from git's index.

    With `only`, schema problems are reported for those files alone, while the
    cross-file rules still see, and report on, the whole tree.
    """
    files: list[FileEntry]
    if staged:
        files = list(iter_staged_files(root))
    else:
        files = [(relative, absolute, None) for relative, absolute in iter_record_files(root)]
    results = _check_all(files, jobs)
    problems: list[Problem] = []
    links: list[RecordLinks] = []
    for (_, absolute, _), (file_problems, record_links) in zip(files, results, strict=True):
        if only is None or absolute.resolve() in only:
            problems.extend(file_problems)
        if record_links is not None:
            links.append(record_links)
    problems.extend(check_links(links))
    return ValidationReport(root, len(files), sorted(set(problems)))


def _check_all(files: list[FileEntry], jobs: int | None) -> list[CheckResult]:
    workers = jobs or os.cpu_count() or 1
    if workers < 2 or len(files) < PARALLEL_THRESHOLD:
        return _check_batch(files)
    size = max(50, len(files) // (workers * 8))
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [result for batch in pool.map(_check_batch, batches) for result in batch]


def validate_paths(
    paths: list[Path], root_name: str | None, staged: bool = False, jobs: int | None = None
) -> list[ValidationReport]:
    """Validate what the user named: nothing (the tracker here), tracker roots, or files in them."""
    if not paths:
        try:
            root = find_tracker_root(Path.cwd(), root_name)
        except NotFound:
            if staged:  # a commit hook in a repository without a tracker has nothing to check
                return []
            raise
        return [validate_root(root, staged=staged, jobs=jobs)]
    whole_roots: list[Path] = []
    files_by_root: dict[Path, set[Path]] = {}
    for path in paths:
        if not staged and not path.exists():
            raise NotFound(f"{path}: no such file or directory")
        if path.is_dir() and (path / CONFIG_FILE).is_file():
            whole_roots.append(path.resolve())
            continue
        root = find_tracker_root(path.parent if not path.is_dir() else path, root_name)
        files_by_root.setdefault(root, set()).add(path.resolve())
    reports = [validate_root(root, staged=staged, jobs=jobs) for root in whole_roots]
    for root, files in files_by_root.items():
        if root not in whole_roots:
            reports.append(validate_root(root, only=files, staged=staged, jobs=jobs))
    return reports
