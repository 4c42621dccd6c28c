"""Reports: the JSON results document (with a schema), its Markdown and self-contained HTML renderings."""

from flatcheck.report.html import render_html
from flatcheck.report.markdown import render
from flatcheck.report.results import (
    append_record,
    document,
    provenance,
    read_json,
    read_stream,
    summarise,
    validate,
    write_json,
)
from flatcheck.report.write import write_report

__all__ = [
    "append_record",
    "document",
    "provenance",
    "read_json",
    "read_stream",
    "render",
    "render_html",
    "summarise",
    "validate",
    "write_json",
    "write_report",
]
