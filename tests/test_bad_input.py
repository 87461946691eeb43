"""The bad-input corpus: every broken file is reported at the right line, field and message.

Layout (see tests/corpus/):

- ``base/`` is a small valid tracker root: tracker.yaml, a project > session > task
  chain, a vendor, a deployment and an enhancement.
- ``cases/<name>/`` holds only the files a case adds to or replaces in the base, plus
  ``expected.txt``: one expected problem per line, ``path:LINE: field: fragment``, where
  ``path`` is relative to the tracker root, ``field`` is ``-`` when the problem names no
  field, LINE is 0 when the problem is about the whole file, and ``fragment`` must occur
  in the message. Blank lines and lines starting with ``#`` are comments.
- ``good/<name>/`` holds valid edge cases (added to the base) that must validate cleanly.

Each case runs ``tracker validate`` in a subprocess, in a fresh git repository holding the
tracker as ``.tracker/``, once with ``--format json`` and once in the plain text form: every
expected problem must be reported, and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli.main import cli

CORPUS = Path(__file__).parent / "corpus"
BASE = CORPUS / "base"
CASES = sorted(path for path in (CORPUS / "cases").iterdir() if path.is_dir())
GOOD = sorted(path for path in (CORPUS / "good").iterdir() if path.is_dir())
ROOT_NAME = ".tracker"
PROJECT = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = 1024 * 1024

_EXPECTED_LINE = re.compile(
    r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<field>[^:\s]+): (?P<fragment>.+)$"
)


@dataclass(frozen=True)
class Expected:
    path: str  # as tracker prints it from the repository root: .tracker/items/...
    line: int
    field: str
    fragment: str

    def matches(self, problem: dict[str, Any]) -> bool:
        return (
            problem["path"] == self.path
            and problem["line"] == self.line
            and problem["field"] == self.field
            and self.fragment in problem["message"]
        )

    def text_prefix(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: " if self.field else f"{where}: "

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field or '-'}: ...{self.fragment}..."


def read_expected(case: Path) -> list[Expected]:
    expected = []
    for number, raw in enumerate((case / "expected.txt").read_text("utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        match = _EXPECTED_LINE.match(text)
        assert match, f"{case.name}/expected.txt:{number}: not `path:LINE: field: fragment`"
        field = match["field"]
        expected.append(
            Expected(
                f"{ROOT_NAME}/{match['path']}",
                int(match["line"]),
                "" if field == "-" else field,
                match["fragment"],
            )
        )
    return expected


def make_repo(tmp_path: Path, *overlays: Path) -> Path:
    """A fresh git repository holding base (plus the overlays' files) as .tracker/."""
    repo = (tmp_path / "repo").resolve()
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copytree(BASE, repo / ROOT_NAME)
    for overlay in overlays:
        for source in sorted(overlay.rglob("*")):
            relative = source.relative_to(overlay)
            if source.is_dir() or relative == Path("expected.txt"):
                continue
            target = repo / ROOT_NAME / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return repo


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return env


def run_validate(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tracker validate` in-process (fast); the process form is covered by the tests below."""
    previous = os.getcwd()
    os.chdir(repo)
    try:
        invoked = CliRunner().invoke(cli, ["validate", *args])
    finally:
        os.chdir(previous)
    assert invoked.exception is None or isinstance(invoked.exception, SystemExit), invoked.exception
    result = subprocess.CompletedProcess(
        ["tracker", "validate", *args], invoked.exit_code, invoked.stdout, invoked.stderr
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), (result.returncode, result.stdout, result.stderr)
    return result


def validate_json(repo: Path) -> tuple[int, dict[str, Any]]:
    result = run_validate(repo, "--format", "json")
    data = json.loads(result.stdout)
    assert data["ok"] == (result.returncode == 0)
    assert data["ok"] == (not data["problems"])
    return result.returncode, data


def shown(problems: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {p['path']}:{p['line']}: {p['field'] or '-'}: {p['message']}" for p in problems
    )


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_is_big_enough_and_well_formed() -> None:
    assert len(CASES) >= 35
    for case in CASES:
        expected = read_expected(case)
        assert expected, f"{case.name}: expected.txt lists no problem"
        files = [p for p in case.rglob("*") if p.is_file() and p.name != "expected.txt"]
        assert files, f"{case.name}: no files"
        assert all(p.stat().st_size < 64 * 1024 for p in files), f"{case.name}: file too big"


def test_base_validates_cleanly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, data = validate_json(repo)
    assert (code, data["problems"]) == (0, []), shown(data["problems"])
    assert data["files_checked"] == 7
    text = run_validate(repo)
    assert text.returncode == 0
    assert text.stdout.strip() == "7 files checked, no problems"


# --------------------------------------------------------------------------- broken inputs


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_case(case: Path, tmp_path: Path) -> None:
    expected = read_expected(case)
    repo = make_repo(tmp_path, case)

    code, data = validate_json(repo)
    problems = data["problems"]
    missing = [e for e in expected if not any(e.matches(p) for p in problems)]
    unexpected = [p for p in problems if not any(e.matches(p) for e in expected)]
    assert not missing and not unexpected, (
        "\nexpected but not reported:\n"
        + "\n".join(f"  {e}" for e in missing)
        + "\nreported but not expected:\n"
        + shown(unexpected)
        + "\nall reported:\n"
        + shown(problems)
    )
    assert code == 1
    for problem in problems:
        assert "\n" not in problem["message"], f"multi-line message: {problem['message']!r}"

    text = run_validate(repo)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert len(lines) == len(problems) + 1, text.stdout
    count = len(problems)
    assert lines[-1].endswith(f", {count} problem{'s' if count != 1 else ''}"), lines[-1]
    for e in expected:
        assert any(
            line.startswith(e.text_prefix()) and e.fragment in line for line in lines[:-1]
        ), f"{e} not in the text output:\n{text.stdout}"


# --------------------------------------------------------------------------- valid edge cases


@pytest.mark.parametrize("case", GOOD, ids=[case.name for case in GOOD])
def test_valid_edge_case(case: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, case)
    code, data = validate_json(repo)
    assert (code, data["problems"]) == (0, []), shown(data["problems"])


# --------------------------------------------------------------------------- size limit


def _item_of_size(size: int) -> bytes:
    head = b"id: TRK-aaaa02\ntype: task\ntitle: Huge\ncreated_at: 2026-01-07\ndescription: "
    body = head + b"x" * (size - len(head) - 1) + b"\n"
    assert len(body) == size
    return body


def test_file_over_one_mib_is_refused_at_line_1(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ROOT_NAME / "items" / "TRK-aaaa02.yaml").write_bytes(_item_of_size(MAX_FILE_BYTES + 1))
    code, data = validate_json(repo)
    expected = Expected(f"{ROOT_NAME}/items/TRK-aaaa02.yaml", 1, "", "file is larger than")
    assert code == 1
    assert len(data["problems"]) == 1 and expected.matches(data["problems"][0]), shown(
        data["problems"]
    )


def test_file_of_exactly_one_mib_is_accepted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ROOT_NAME / "items" / "TRK-aaaa02.yaml").write_bytes(_item_of_size(MAX_FILE_BYTES))
    code, data = validate_json(repo)
    assert (code, data["problems"]) == (0, []), shown(data["problems"])


# --------------------------------------------------------------------------- billion laughs

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from tracker.service.validate import validate_root

    root = Path(sys.argv[1])
    start = time.perf_counter()
    report = validate_root(root, jobs=1)
    seconds = time.perf_counter() - start
    # VmHWM is this process's own peak; ru_maxrss would also count the forking parent's
    # memory on Linux (it survives exec), i.e. pytest's, not ours.
    status = Path("/proc/self/status")
    if status.exists():
        line = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM:"))
        peak = int(line.split()[1])
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "seconds": seconds,
        "peak": peak,
        "problems": [[p.path, p.line, p.field, p.message] for p in report.problems],
    }))
    """
)


def test_billion_laughs_is_rejected_fast_and_small(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, CORPUS / "cases" / "alias-bomb")
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(repo / ROOT_NAME)],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    peak_bytes = measured["peak"] * (1 if sys.platform == "darwin" else 1024)
    assert measured["problems"] == [
        [
            f"{ROOT_NAME}/items/TRK-aaaa02.yaml",
            6,
            "",
            "anchors and aliases are not allowed in tracker files",
        ]
    ]
    assert measured["seconds"] < 1.0, measured
    # the peak of the child's whole life, interpreter start and imports included
    assert peak_bytes < 100 * 1024 * 1024, measured
