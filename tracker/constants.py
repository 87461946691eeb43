"""Names and limits shared by every layer."""

from __future__ import annotations

DEFAULT_ROOT = ".tracker"
CONFIG_FILE = "tracker.yaml"
SCHEMA_DIR = "schema"
TEMPLATES_DIR = "templates"

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB: no record is anywhere near this
MAX_DEPTH = 5  # root is depth 0
DEFAULT_ID_PREFIX = "TRK"
MIN_ID_HEX = 6
SCHEMA_LINE_PREFIX = "# yaml-language-server: $schema="
CURRENT_FORMAT_VERSION = 1
