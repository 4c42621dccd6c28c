"""Reports: the JSON results document and its Markdown rendering."""

from flatcheck.report.markdown import render
from flatcheck.report.results import document, provenance, read_json, summarise, write_json

__all__ = ["document", "provenance", "read_json", "render", "summarise", "write_json"]
