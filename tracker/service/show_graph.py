"""What `show` links an item to, kept in memory by a process that keeps the index warm.

Every DuckDB query costs at least ~0.3 ms and a wide row ~1 ms, and `show` asks for the
item's row, its links, the brief rows of what it links to and its descendants: 10-25 ms
at 100,000 items. A warm index (`service.live`) loads this projection once per index
generation, off the answering thread, and `show` then asks DuckDB only for the item's own
row (descriptions and metadata stay out: ~100 MB at 100,000 items).

Both answer the questions `show` asks (`SqlShow`, `GraphShow`) with the same rows in the
same order, so `reads.show_item` builds one answer from either (tests/test_show_graph.py).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from tracker.index.backend import QueryIndex
from tracker.query import sql
from tracker.service.indexer import Answer, SyncReport

Row = dict[str, Any]
Parts = dict[str, list[Row]]  # the rows of a query of several parts, by part
BRIEF_KEYS = (
    "id", "type", "title", "status", "priority", "parent", "version", "changed_by",
    "changed_at", "file",
)  # fmt: skip
Brief = tuple[str, str, str, str, int, str | None, str | None, str | None, datetime | None, str]

GRAPH, FIRST = "show-graph", "show-graph-first"  # keys of the warm index's cache
# A load costs ~1 s at 100,000 items, off the answering thread but slowing the answers of
# that time (one interpreter): worth it when shows go on on an index that stays as it is,
# so a show this long after the first on the same index starts it (one per change never).
QUIET = 0.25  # seconds
# Up to this many files a load is short (~10 µs a file, tens of ms), so shows that go on
# through edits that keep the projection (kept_through) count as going on on one index;
# past it a load would keep slowing the answers right after those edits, so the edits
# start the count again.
LOADS_AMID_EDITS = 5_000

# Whole tables. 100,000 timestamps cost ~0.2 s to convert, but few commits' times do.
ITEMS = (
    "SELECT i.id, i.type, i.title, i.status, i.priority, i.parent, v.version, v.author, "
    "extract(epoch FROM v.changed_at) AS at, i.file, h.path, h.depth FROM items i "
    "LEFT JOIN versions v ON v.file = i.file LEFT JOIN hierarchy h ON h.id = i.id "
    "ORDER BY h.path"
)
MOMENTS = "SELECT DISTINCT extract(epoch FROM changed_at) AS at, changed_at FROM versions"
DEPS = "SELECT item, depends_on, position FROM deps"
OPEN = "SELECT item, open FROM open_deps"
DIRTY = "SELECT file FROM files WHERE blob IS DISTINCT FROM head_blob"
DEPLOYMENTS = (
    "SELECT x.item, d.id, d.deployed_at, d.pr, d.pr_title, d.commit_sha AS commit "
    "FROM deployment_items x JOIN deployments d ON d.id = x.deployment"
)
DEPLOYMENT_FIELDS = ("id", "deployed_at", "pr", "pr_title", "commit")
# What a sync that rewrote no derived row can have changed of some files' items: their
# brief rows, and whether each file differs from HEAD.
PATCH = (
    "SELECT f.file, (f.blob IS DISTINCT FROM f.head_blob) AS dirty, i.id, i.type, i.title, "
    "i.status, i.priority, i.parent, v.version, v.author, v.changed_at FROM files f "
    "LEFT JOIN items i ON i.file = f.file LEFT JOIN versions v ON v.file = f.file "
    "WHERE f.file IN ({marks})"
)


def queries(answer: Answer) -> SqlShow | GraphShow:
    """The projection when this answer's index generation has one, else the index (and on
    a warm index that keeps being asked, the projection loaded for the shows to come)."""
    cache, later = answer.cache, answer.background
    if cache is None or later is None:  # one-shot processes, `--at` answers
        return SqlShow(answer.index)
    graph = cache.get(GRAPH)
    if isinstance(graph, ShowGraph):
        return GraphShow(graph, answer.index)
    if time.monotonic() - cache.setdefault(FIRST, time.monotonic()) >= QUIET:
        later(GRAPH, ShowGraph.load)  # never loaded here: this answer must stay quick
    return SqlShow(answer.index)


def kept_through(
    cache: dict[Any, Any], index: QueryIndex, report: SyncReport, files: int
) -> dict[Any, Any]:
    """What of the cache's projection (and, in an index of `files` files, of the time shows
    began) still holds after this sync, the projection brought up to date. It does when no
    derived row and no deployment changed (titles, priorities, metadata, versions of items:
    what agents change most), not after a rebuild or a change of structure."""
    if report.rebuilt or "deployments" in report.folders:
        return {}
    if report.item_files and report.derived_changed:
        return {}
    keys = (GRAPH, FIRST) if files <= LOADS_AMID_EDITS else (GRAPH,)
    kept = {key: cache[key] for key in keys if key in cache}
    graph = kept.get(GRAPH)
    if (
        isinstance(graph, ShowGraph)
        and report.item_files
        and not graph.patch(index, report.item_files)
    ):
        del kept[GRAPH]
    return kept


def parts(rows: list[Row]) -> Parts:
    found: Parts = {}
    for row in rows:
        found.setdefault(row.pop("part"), []).append(row)
    return found


@dataclass
class SqlShow:
    """The index answers: two round trips, more for descendants or deployments."""

    index: QueryIndex

    def item_links(self, item_id: str) -> Parts:
        links, record = self.index.rows_many([sql.item_links(item_id), sql.item_record(item_id)])
        found = parts(links)
        return {"item": record, **found} if record else found

    def linked_items(
        self, item_ids: list[str], depths: list[str], opened: str | None, file: str
    ) -> Parts:
        return parts(self.index.rows(*sql.linked_items(item_ids, depths, opened, file)))

    def depth_of(self, item_ids: list[str]) -> list[Row]:
        return self.index.rows(*sql.depth_of(item_ids))

    def descendants(self, path: str) -> list[Row]:
        return self.index.rows(*sql.descendants(path, None, True))

    def deployments_of_item(self, item_id: str) -> list[Row]:
        return self.index.rows(*sql.deployments_of_item(item_id))


@dataclass
class ShowGraph:
    """Every item's brief rows, place in the hierarchy and links both ways, in tuples and
    dicts of them, each id one string object (~75 MB at 100,000 items)."""

    briefs: dict[str, Brief]  # id -> its row
    more: dict[str, list[Brief]]  # id -> its other rows: an id held by two files (SQL leaves
    # the order of an id's rows open; here it is one of them)
    places: dict[str, tuple[str, int]]  # id -> (path, depth)
    paths: list[str]  # every path, sorted: a subtree is a range
    path_ids: list[str]  # the id at each of `paths`
    depends_on: dict[str, list[str]]  # item -> its targets by position
    blocks: dict[str, list[str]]  # target -> the items depending on it
    parents: set[str]  # the ids some item names as its parent
    open_counts: dict[str, int]
    dirty: set[str]  # the files whose work-tree content differs from HEAD's
    deployments: dict[str, list[tuple[Any, ...]]]  # item -> DEPLOYMENT_FIELDS rows
    ids_by_file: dict[str, list[str]] | None = None  # made by the first `patch`

    @classmethod
    def load(cls, index: QueryIndex) -> ShowGraph:
        """A few scans of whole tables: ~1 s at 100,000 items."""
        shared: dict[Any, Any] = {}  # ids and per-commit strings: one object each
        one = shared.setdefault  # one(text, text): that text's one object
        moments = {row["at"]: row["changed_at"] for row in index.rows(MOMENTS)}
        briefs: dict[str, Brief] = {}
        more: dict[str, list[Brief]] = {}
        places: dict[str, tuple[str, int]] = {}
        parents: set[str] = set()
        for row in index.rows(ITEMS):
            key, parent, version = row["id"], row["parent"], row["version"]
            key, parent, version = one(key, key), one(parent, parent), one(version, version)
            brief = (
                key, one(row["type"], row["type"]), row["title"], one(row["status"], row["status"]),
                row["priority"], parent, version, one(row["author"], row["author"]),
                moments.get(row["at"]), row["file"],
            )  # fmt: skip
            if key in briefs:
                more.setdefault(key, []).append(brief)
            else:
                briefs[key] = brief
            if row["path"] is not None:
                places[key] = (row["path"], row["depth"])
            parents.add(parent)
        ordered = sorted((path, key) for key, (path, _depth) in places.items())  # sorted already
        by_position: dict[str, list[tuple[int, str]]] = {}
        blocks: dict[str, list[str]] = {}
        for row in index.rows(DEPS):
            item, target = one(row["item"], row["item"]), one(row["depends_on"], row["depends_on"])
            by_position.setdefault(item, []).append((row["position"], target))
            blocks.setdefault(target, []).append(item)
        deployments: dict[str, list[tuple[Any, ...]]] = {}
        for row in index.rows(DEPLOYMENTS):
            deployments.setdefault(row["item"], []).append(itemgetter(*DEPLOYMENT_FIELDS)(row))
        return cls(
            briefs=briefs,
            more=more,
            places=places,
            paths=[path for path, _key in ordered],
            path_ids=[key for _path, key in ordered],
            depends_on={
                item: [target for _, target in sorted(targets, key=itemgetter(0))]
                for item, targets in by_position.items()
            },
            blocks=blocks,
            parents=parents & briefs.keys(),
            open_counts={row["item"]: row["open"] for row in index.rows(OPEN)},
            dirty={row["file"] for row in index.rows(DIRTY)},
            deployments=deployments,
        )

    def patch(self, index: QueryIndex, files: set[str]) -> bool:
        """Bring the brief rows and dirty flags of these files' items up to date, after a
        sync that changed no derived row: no item came, went, moved, or changed its status,
        deletion or dependencies. False (nothing changed here) when the rows say otherwise,
        or an id is held twice: the caller drops the projection."""
        if self.ids_by_file is None:
            self.ids_by_file = {}
            for brief in [*self.briefs.values(), *(b for more in self.more.values() for b in more)]:
                self.ids_by_file.setdefault(brief[9], []).append(brief[0])
        marks = ", ".join("?" for _ in files)
        rows = index.rows(PATCH.format(marks=marks), sorted(files))
        if len(rows) != len(files):  # a file gone: items went
            return False
        updates: dict[str, Brief] = {}
        for row in rows:
            key, held = row["id"], self.ids_by_file.get(row["file"], [])
            if key is None:  # no valid item in it, before or after
                if held:
                    return False
                continue
            if held != [key] or key in self.more:
                return False
            before = self.briefs[key]
            if (before[3], before[5]) != (row["status"], row["parent"]):
                return False
            updates[key] = (
                key, row["type"], row["title"], row["status"], row["priority"], row["parent"],
                row["version"], row["author"], row["changed_at"], row["file"],
            )  # fmt: skip
        self.briefs.update(updates)  # every check passed: all or nothing
        for row in rows:
            if row["dirty"]:
                self.dirty.add(row["file"])
            else:
                self.dirty.discard(row["file"])
        return True

    def rows_of(self, item_id: str) -> list[Brief]:
        """The brief rows of an id (none: no such item)."""
        first = self.briefs.get(item_id)
        return [] if first is None else [first, *self.more.get(item_id, ())]


@dataclass
class GraphShow:
    """The projection answers; the index only the item's own row (one round trip)."""

    graph: ShowGraph
    index: QueryIndex

    def item_links(self, item_id: str) -> Parts:
        graph = self.graph
        if item_id not in graph.briefs:
            return {}  # not an id: `show` resolves it as a prefix
        found: Parts = {
            "item": self.index.rows(*sql.item_record(item_id)),
            "depends_on": [
                {"id": key, "position": at}
                for at, key in enumerate(graph.depends_on.get(item_id, []))
            ],
            "blocks": [{"id": key} for key in graph.blocks.get(item_id, [])],
            "child": [{"id": None}] if item_id in graph.parents else [],
            "deployment": [{"id": row[0]} for row in graph.deployments.get(item_id, [])],
        }
        if item_id in graph.places:
            path, depth = graph.places[item_id]
            found["path"] = [{"tree_path": path, "depth": depth}]
        return {name: rows for name, rows in found.items() if rows}

    def linked_items(
        self, item_ids: list[str], depths: list[str], opened: str | None, file: str
    ) -> Parts:
        graph = self.graph
        found: Parts = {
            "brief": [
                dict(zip(BRIEF_KEYS, brief, strict=True))
                for key in dict.fromkeys(item_ids)
                for brief in graph.rows_of(key)
            ],
            "file": [{"dirty": file in graph.dirty}],
            "depth": self.depth_of(depths),
        }
        if opened is not None and opened in graph.open_counts:
            found["open"] = [{"open_dependencies": graph.open_counts[opened]}]
        return found

    def depth_of(self, item_ids: list[str]) -> list[Row]:
        places = self.graph.places
        return [{"id": k, "depth": places[k][1]} for k in dict.fromkeys(item_ids) if k in places]

    def descendants(self, path: str) -> list[Row]:
        graph, prefix = self.graph, path + "/"
        found, at = [], bisect_left(graph.paths, prefix)
        while at < len(graph.paths) and graph.paths[at].startswith(prefix):
            key = graph.path_ids[at]
            depth = graph.places[key][1]
            found += [
                {"id": key, "type": kind, "title": title, "status": status,
                 "priority": priority, "depth": depth, "parent": parent, "version": version}
                for key, kind, title, status, priority, parent, version, *_ in graph.rows_of(key)
            ]  # fmt: skip
            at += 1
        return found

    def deployments_of_item(self, item_id: str) -> list[Row]:
        # latest first, as `sql.deployments_of_item` orders them (a deployment has a time)
        rows = sorted(self.graph.deployments.get(item_id, []), key=itemgetter(1), reverse=True)
        return [dict(zip(DEPLOYMENT_FIELDS, row, strict=True)) for row in rows]
