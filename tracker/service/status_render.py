"""The status report as text: Jinja2 templates shipped in the package, each overridable by a
file of the same name in the tracker root's `templates/` folder. The only Jinja2 user.

Markdown has no escaping a reader of the raw file would welcome, so nothing is escaped but
what breaks the layout: line breaks everywhere, `|` in table cells, and what Mermaid reads
as syntax in a node label.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.constants import TEMPLATES_DIR
from tracker.errors import TrackerError, UsageError
from tracker.service.workspace import Workspace

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = {"markdown": "status.md.j2"}
LABEL_WIDTH = 60  # keeps a graph of the most edges shown within GitHub's 50,000 characters


class TemplateFailed(TrackerError):
    kind = "template"


def render_status(workspace: Workspace, data: dict[str, Any], fmt: str = "markdown") -> str:
    """The report in `fmt` from `status_data`'s answer."""
    name = TEMPLATES.get(fmt)
    if name is None:
        raise UsageError(f"no status template for format '{fmt}'")
    override = workspace.root / TEMPLATES_DIR
    overridden = (override / name).is_file()
    environment = _environment(override, overridden)
    import jinja2  # importable: _environment made sure

    source = workspace.display(f"{TEMPLATES_DIR}/{name}") if overridden else name
    try:
        return environment.get_template(name).render(data)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailed(f"{source}:{exc.lineno}: {exc.message}") from None
    except Exception as exc:
        if not overridden and not isinstance(exc, jinja2.TemplateError):
            raise  # the shipped template failing is a bug
        raise TemplateFailed(f"{source}:{_line(exc)}: {exc}") from None


# (override folder, whether it holds the template) -> its environment. An environment
# keeps the templates it compiled (milliseconds each) and recompiles a changed file; a
# new one is made when an override appears or goes, which its cache would not notice.
_environments: dict[tuple[Path, bool], Environment] = {}


def _environment(override: Path, overridden: bool) -> Environment:
    found = _environments.get((override, overridden))
    if found is not None:
        return found
    try:
        import jinja2
    except ImportError:
        raise TrackerError(
            "the status report needs Jinja2: pip install 'tracker[report]'"
        ) from None
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(override), jinja2.PackageLoader("tracker", "templates")]
        ),
        autoescape=False,  # Markdown; see the module docstring
        undefined=jinja2.StrictUndefined,  # a misspelt field in an override fails loudly
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(md=one_line, cell=table_cell, mermaid=mermaid_label)
    _environments[override, overridden] = environment
    return environment


def _line(exc: Exception) -> int:
    """The template line that failed (Jinja2 puts it in the traceback); 0 if none is."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2") and frame.lineno is not None:
            return frame.lineno
    return 0


def one_line(text: Any) -> str:
    return " ".join(str(text).splitlines())


def table_cell(text: Any) -> str:
    return one_line(text).replace("|", "\\|")


MERMAID_CODES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}
_MERMAID = str.maketrans(MERMAID_CODES)


def mermaid_label(text: Any, width: int = LABEL_WIDTH) -> str:
    """Text for a quoted Mermaid label: its entity codes (`#quot;`) for the characters that
    end the label, start an entity, turn into HTML or a Markdown string."""
    line = one_line(text)
    if len(line) > width:
        line = line[: width - 1].rstrip() + "…"
    return line.translate(_MERMAID)
