"""`tracker index sync | rebuild` report progress while reading files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, run
from tracker.model.kinds import WORK_ITEM
from tracker.model.yaml_write import dump_record
from tracker.service.index_admin import index_sync
from tracker.service.workspace import Workspace

ITEMS = 520  # above the size at which files are read by a pool of workers


def test_rebuild_reports_progress_up_to_every_file(tracker_repo: Path) -> None:
    items = tracker_repo / ".tracker" / "items"
    for number in range(ITEMS):
        key = f"TRK-{number:06x}"
        data = {
            "id": key,
            "type": "task",
            "title": f"item {number}",
            "created_at": "2026-01-01T00:00:00Z",
        }
        (items / f"{key}.yaml").write_text(dump_record(data, WORK_ITEM.key_order))
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "many items")
    seen: list[tuple[int, int]] = []
    result = index_sync(
        Workspace.open(tracker_repo),
        rebuild=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result["files_read"] >= ITEMS
    assert len(seen) > 1
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1][0] == seen[-1][1] == result["files_read"]
    quiet = run(["index", "rebuild", "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
