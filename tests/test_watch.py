"""`tracker watch` as a real process: it syncs on changes, serves commands, runs once, stops."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import watchdog  # noqa: F401  (installed with `.[all,test]`: missing is a failure, not a skip)

from tests.conftest import GIT_IDENTITY, git, run
from tracker.cli.rendezvous import find_git_dir, socket_path

START_SECONDS = 20.0


def environment() -> dict[str, str]:
    """The test's environment, with the launcher allowed to forward to the watcher."""
    return {**{k: v for k, v in os.environ.items() if k != "TRACKER_NO_SERVER"}, **GIT_IDENTITY}


class Watch:
    """A running `tracker watch` whose stderr is read line by line in the background."""

    def __init__(self, repo: Path, *args: str) -> None:
        self.repo = repo
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracker", "watch", *args],
            cwd=repo,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> str:
        """The next log line containing `text`, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s; log: {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=10)


@pytest.fixture
def item(tracker_repo: Path) -> str:
    made = run(["new", "task", "watch me", "--format", "json"])
    assert made.exit_code == 0, made.output
    item_id: str = json.loads(made.output)["id"]
    return item_id


@pytest.fixture
def watcher(tracker_repo: Path, item: str) -> Iterator[Watch]:
    watch = Watch(tracker_repo)
    try:
        watch.wait_for("watching", START_SECONDS)
        yield watch
    finally:
        if watch.process.poll() is None:
            watch.process.send_signal(signal.SIGINT)
            try:
                watch.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watch.process.kill()
                watch.process.wait()


def tracker(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A CLI call as a user makes it: through the launcher, which forwards to the watcher."""
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=repo,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def show(repo: Path, item_id: str) -> dict[str, Any]:
    done = tracker(repo, "show", item_id, "--format", "json")
    assert done.returncode == 0, done.stderr
    shown: dict[str, Any] = json.loads(done.stdout)
    # The watcher holds the index file: only a command it ran itself reads it without a
    # wait for the lock and a fallback to the files.
    assert (shown["data_source"], shown["warnings"]) == ("index", [])
    return shown


def item_file(repo: Path, item_id: str) -> Path:
    return repo / ".tracker" / "items" / f"{item_id}.yaml"


def test_an_edit_in_the_work_tree_is_synced_and_served(watcher: Watch, item: str) -> None:
    path = item_file(watcher.repo, item)
    path.write_text(path.read_text().replace("title: watch me", "title: edited"))
    line = watcher.wait_for("synced", 2.0)
    assert "read 1," in line, line
    shown = show(watcher.repo, item)
    assert shown["record"]["title"] == "edited"
    assert shown["dirty"] is True
    # A rebuild it runs resets the file it holds open rather than deleting it.
    assert tracker(watcher.repo, "index", "rebuild", "--quiet").returncode == 0
    status = tracker(watcher.repo, "index", "status", "--format", "json")
    assert json.loads(status.stdout)["exists"] is True
    assert show(watcher.repo, item)["record"]["title"] == "edited"


def test_a_commit_is_synced_with_its_version(watcher: Watch, item: str) -> None:
    path = item_file(watcher.repo, item)
    path.write_text(path.read_text().replace("title: watch me", "title: committed"))
    git(watcher.repo, "commit", "-q", "-am", "edit by hand")
    head = git(watcher.repo, "rev-parse", "HEAD").strip()
    line = watcher.wait_for(f"commit {head[:12]}", 2.0)
    assert "versions 0," not in line, line
    shown = show(watcher.repo, item)
    assert (shown["record"]["title"], shown["version"], shown["dirty"]) == (
        "committed",
        head,
        False,
    )


def test_one_server_per_repository(watcher: Watch) -> None:
    for command in ("watch", "serve"):
        second = tracker(watcher.repo, command)
        assert second.returncode == 0
        assert "already runs" in second.stderr
    assert watcher.process.poll() is None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_it_cleanly(watcher: Watch, signum: int) -> None:
    git_dir = find_git_dir(str(watcher.repo))
    assert git_dir is not None
    socket = Path(socket_path(git_dir))
    assert socket.exists()
    assert watcher.stop(signum) == 0
    assert not socket.exists()
    watcher.wait_for("stopped", 2.0)


def test_a_dozen_concurrent_queries_all_succeed(watcher: Watch, item: str) -> None:
    env = environment()
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "list", "--format", "json"],
            cwd=watcher.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    for client in clients:
        out, err = client.communicate(timeout=60)
        assert client.returncode == 0, err
        listed = json.loads(out)
        assert [row["id"] for row in listed["items"]] == [item]
        assert (listed["data_source"], listed["warnings"]) == ("index", [])


def test_it_exits_when_the_repository_disappears(tracker_repo: Path, item: str) -> None:
    git_dir = find_git_dir(str(tracker_repo))
    assert git_dir is not None
    watch = Watch(tracker_repo, "--quiet")
    try:
        deadline = time.monotonic() + START_SECONDS
        while not Path(socket_path(git_dir)).exists():
            assert time.monotonic() < deadline and watch.process.poll() is None
            time.sleep(0.05)
        (tracker_repo / ".git").rename(tracker_repo.parent / "gone")
        assert watch.process.wait(timeout=10) == 0
        assert not Path(socket_path(git_dir)).exists()
        time.sleep(0.1)  # the reader thread has seen the end of stderr
        assert watch.lines.empty()  # --quiet: no log, and no failed sync
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()
