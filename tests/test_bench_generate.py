"""The benchmark generator makes valid, deterministic trackers, written as the tool writes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.generate import GenParams, build_dataset, ensure_repo
from tracker.model.kinds import kind_for_path, record_as_data, schema_ref
from tracker.model.yaml_read import load_yaml_file
from tracker.model.yaml_write import dump_record
from tracker.service.validate import validate_root
from tracker.store.tree import iter_record_files


def test_generated_repo_is_valid_deep_and_linked(tmp_path: Path) -> None:
    repo = ensure_repo(GenParams(items=200, seed=7, history=3), tmp_path / "repo", quiet=True)
    root = repo / ".tracker"

    report = validate_root(root, jobs=1)
    assert report.problems == []
    assert report.files_checked > 200

    parents: dict[str, str | None] = {}
    with_dependencies = 0
    for relative, absolute in iter_record_files(root):
        kind = kind_for_path(relative)
        assert kind is not None
        loaded = load_yaml_file(str(absolute))
        if kind.folder == "items":
            parents[loaded.data["id"]] = loaded.data.get("parent")
            with_dependencies += bool(loaded.data.get("depends_on"))
        if relative != "tracker.yaml":  # byte for byte what the tool writes
            data = record_as_data(kind.adapter.validate_python(loaded.data))
            expected = dump_record(data, kind.key_order, schema_ref(relative, kind))
            assert absolute.read_text(encoding="utf-8") == expected, relative

    def depth(item_id: str) -> int:
        parent = parents[item_id]
        return 0 if parent is None else depth(parent) + 1

    assert len(parents) == 200
    assert max(depth(item_id) for item_id in parents) == 4
    assert 20 <= with_dependencies <= 100  # about 30%

    log = subprocess.run(
        ["git", "log", "--format=%an"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert len(log.stdout.splitlines()) == 1 + 3  # initial commit plus the history


def test_same_seed_same_content_and_fanout_layout() -> None:
    first = build_dataset(GenParams(items=50, seed=3, history=2, fanout=True))
    second = build_dataset(GenParams(items=50, seed=3, history=2, fanout=True))
    assert [(r.rel, r.render()) for r in first.records] == [
        (r.rel, r.render()) for r in second.records
    ]
    item_paths = [r.rel for r in first.records if r.rel.startswith("items/")]
    assert all(path.split("/")[1] == path.split("/")[2].split("-")[1][:2] for path in item_paths)
    other = build_dataset(GenParams(items=50, seed=4, history=2, fanout=True))
    assert [r.render() for r in other.records] != [r.render() for r in first.records]
