"""The JSON Schemas of the file kinds, generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

from tracker.model.kinds import json_schemas


def render_schemas() -> dict[str, str]:
    """File name -> schema text, exactly as written to disk."""
    return {
        name: json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        for name, schema in json_schemas().items()
    }


def export_schemas(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
