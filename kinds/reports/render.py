"""A finished report rendered for download: the whole report as JSON, its table as CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any


def render_csv(report: dict[str, Any], table: str, columns: tuple[str, ...]) -> str:
    """The report's main table as CSV, with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    writer.writerows(report.get(table) or [])
    return out.getvalue()


def render_json(report: dict[str, Any]) -> str:
    """The whole report as JSON."""
    return json.dumps(report)
