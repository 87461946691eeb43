from __future__ import annotations

import json

from tests.conftest import PROJECT_ROOT
from tracker.model.kinds import SCHEMA_KINDS
from tracker.service.schema_export import render_schemas


def test_committed_schemas_equal_the_models() -> None:
    committed = PROJECT_ROOT / "schema"
    rendered = render_schemas()
    assert sorted(path.name for path in committed.glob("*.json")) == sorted(rendered)
    for name, text in rendered.items():
        assert (committed / name).read_text() == text, (
            f"schema/{name} is stale: run `tracker schema export schema`"
        )


def test_one_schema_per_file_kind_with_no_extra_fields() -> None:
    schemas = {name: json.loads(text) for name, text in render_schemas().items()}
    assert len(schemas) == len(SCHEMA_KINDS)
    vendor = schemas["vendor.schema.json"]
    assert vendor["additionalProperties"] is False
    assert set(vendor["required"]) == {"name", "status", "extractor_version"}
    item = schemas["work-item.schema.json"]
    assert item["discriminator"]["propertyName"] == "type"
