"""Reports: the JSON results document (with a schema), its Markdown and self-contained HTML renderings.

The names are loaded on first use: the renderers import matplotlib (about a second), which a run
needs only when it writes its report, not before its workers start."""

from importlib import import_module
from typing import Any

# Each name exported here -> the module of flatcheck.report that defines it.
_HOME = {
    "append_record": "results",
    "document": "results",
    "provenance": "results",
    "read_json": "results",
    "read_stream": "results",
    "render": "markdown",
    "render_html": "html",
    "summarise": "results",
    "validate": "results",
    "write_json": "results",
    "write_report": "write",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'flatcheck.report' has no attribute {name!r}")
    value = getattr(import_module(f"flatcheck.report.{_HOME[name]}"), name)
    globals()[name] = value
    return value
