"""The file kinds of a tracker root: where each lives, its model, its key and key order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from tracker.constants import CONFIG_FILE
from tracker.model.config import CONFIG_KEY_ORDER, TrackerConfig
from tracker.model.deployment import DEPLOYMENT_KEY_ORDER, Deployment
from tracker.model.enhancement import ENHANCEMENT_KEY_ORDER, Enhancement
from tracker.model.vendor import VENDOR_KEY_ORDER, Vendor
from tracker.model.work_item import WORK_ITEM_KEY_ORDER, WorkItem


@dataclass(frozen=True)
class Kind:
    name: str  # also the schema file's stem
    folder: str  # relative to the tracker root; "" for tracker.yaml
    key_field: str | None  # the field the file name must equal
    adapter: TypeAdapter[Any]
    key_order: tuple[str, ...]
    id_prefix: str | None = None  # fixed prefix for kinds whose ids do not use the config's

    @property
    def schema_file(self) -> str:
        return f"{self.name}.schema.json"


WORK_ITEM = Kind("work-item", "items", "id", TypeAdapter(WorkItem), WORK_ITEM_KEY_ORDER)
ARCHIVED_ITEM = Kind("work-item", "archive/items", "id", WORK_ITEM.adapter, WORK_ITEM_KEY_ORDER)
VENDOR = Kind("vendor", "vendors", "name", TypeAdapter(Vendor), VENDOR_KEY_ORDER)
DEPLOYMENT = Kind(
    "deployment", "deployments", "id", TypeAdapter(Deployment), DEPLOYMENT_KEY_ORDER, "DEP"
)
ENHANCEMENT = Kind(
    "enhancement", "enhancements", "id", TypeAdapter(Enhancement), ENHANCEMENT_KEY_ORDER, "ENH"
)
CONFIG = Kind("tracker", "", None, TypeAdapter(TrackerConfig), CONFIG_KEY_ORDER)

RECORD_KINDS = (WORK_ITEM, ARCHIVED_ITEM, VENDOR, DEPLOYMENT, ENHANCEMENT)
SCHEMA_KINDS = (WORK_ITEM, VENDOR, DEPLOYMENT, ENHANCEMENT, CONFIG)
# (folder + "/", kind), longest folder first so archive/items wins over items
_BY_FOLDER = tuple(
    (kind.folder + "/", kind) for kind in sorted(RECORD_KINDS, key=lambda k: -len(k.folder))
)


def kind_for_path(relative_path: str) -> Kind | None:
    """The kind of a file given its path inside the tracker root ('items/7f/TRK-7f3a9c.yaml')."""
    if relative_path == CONFIG_FILE:
        return CONFIG
    if not relative_path.endswith(".yaml"):
        return None
    for prefix, kind in _BY_FOLDER:
        if relative_path.startswith(prefix):
            return kind
    return None


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per file kind, keyed by file name."""
    schemas: dict[str, dict[str, Any]] = {}
    for kind in SCHEMA_KINDS:
        schema = kind.adapter.json_schema(mode="validation")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        schema.setdefault("title", kind.name)
        schemas[kind.schema_file] = schema
    return schemas


def record_as_data(record: BaseModel) -> dict[str, Any]:
    """A record as YAML-ready data: enums as strings, unset optional fields left out."""
    return record.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def schema_ref(relative_path: str, kind: Kind) -> str:
    """The `$schema=` target for a file: the root's schema/ folder, relative to the file."""
    return "../" * relative_path.count("/") + "schema/" + kind.schema_file
