"""Metadata in bulk: a TSV sample sheet checked against the server's field descriptions
(``/api/metadata/fields/``), turned into a per-file diff, then applied with one PATCH per file."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rich.console import Console
from rich.table import Table

from .client import ApiError, Client
from .transfer import RemoteTree

KEY_COLUMNS = ("path", "file", "name", "filename", "file_name")


def check_value(spec: dict[str, Any], raw: str) -> tuple[Any, str]:
    """The value to send for ``raw`` and an error message ('' when valid)."""
    value = raw.strip()
    if value == "":
        return None, ""
    kind = spec.get("type")
    if kind == "choice":
        choices = spec.get("choices") or []
        if value not in choices:
            folded = {c.lower(): c for c in choices}
            if value.lower() in folded:
                return folded[value.lower()], ""
            return value, f"“{value}” is not one of: {', '.join(choices)}"
    if kind == "integer":
        try:
            return int(value), ""
        except ValueError:
            return value, f"“{value}” is not a whole number"
    if kind == "date":
        try:
            return dt.date.fromisoformat(value).isoformat(), ""
        except ValueError:
            return value, f"“{value}” is not a date (YYYY-MM-DD)"
    return value, ""


def parse_pairs(pairs: Iterable[str], fields: list[dict[str, Any]]) -> dict[str, Any]:
    specs = {f["name"]: f for f in fields}
    changes: dict[str, Any] = {}
    problems = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            problems.append(f"{pair}: write FIELD=VALUE")
        elif name not in specs:
            problems.append(f"{name}: not a metadata field")
        else:
            value, problem = check_value(specs[name], raw)
            if problem:
                problems.append(f"{name}: {problem}")
            changes[name] = value if value is not None else ("" if specs[name]["type"] == "text" else None)
    if problems:
        raise ApiError(400, "; ".join(problems), "invalid")
    return changes


@dataclass
class Plan:
    changes: list[dict[str, Any]] = field(default_factory=list)  # {file, path, field, old, new}
    errors: list[str] = field(default_factory=list)
    unchanged: int = 0
    by_file: dict[int, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"changes": self.changes, "errors": self.errors, "unchanged_rows": self.unchanged}


def plan_import(client: Client, sheet: Path, project: int, folder: int | None) -> Plan:
    specs = {f["name"]: f for f in client.metadata_fields()}
    plan = Plan()
    with sheet.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows:
        plan.errors.append(f"{sheet}: empty")
        return plan
    header = [h.strip() for h in rows[0]]
    if header[0].lower() not in KEY_COLUMNS:
        plan.errors.append(f"the first column must be one of {', '.join(KEY_COLUMNS)}, not “{header[0]}”")
        return plan
    unknown = [h for h in header[1:] if h not in specs]
    if unknown:
        plan.errors.append(f"unknown metadata columns: {', '.join(unknown)}")
        return plan
    files = RemoteTree(client, project, folder).files()
    by_name: dict[str, list[tuple[PurePosixPath, dict[str, Any]]]] = {}
    for rel, remote in files.items():
        by_name.setdefault(rel.name, []).append((rel, remote))
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        key = row[0].strip().strip("/")
        match = files.get(PurePosixPath(key)) if "/" in key else None
        rel = PurePosixPath(key)
        if match is None and "/" not in key:
            candidates = by_name.get(key, [])
            if len(candidates) > 1:
                plan.errors.append(f"line {line}: “{key}” names {len(candidates)} files; write its path")
                continue
            if candidates:
                rel, match = candidates[0]
        if match is None:
            plan.errors.append(f"line {line}: no file “{key}” here")
            continue
        row_changes = 0
        for name, raw in zip(header[1:], row[1:], strict=False):
            value, problem = check_value(specs[name], raw)
            if problem:
                plan.errors.append(f"line {line}, {name}: {problem}")
                continue
            if value is None:
                continue  # an empty cell leaves the field as it is
            old = match.get(name)
            if old == value or (old is not None and str(old) == str(value)):
                continue
            plan.changes.append({"file": match["id"], "path": str(rel), "field": name, "old": old, "new": value})
            plan.by_file.setdefault(match["id"], {})[name] = value
            row_changes += 1
        if not row_changes:
            plan.unchanged += 1
    return plan


def print_plan(console: Console, plan: Plan) -> None:
    if plan.changes:
        table = Table(title=f"{len(plan.changes)} changes in {len(plan.by_file)} files")
        for column in ("file", "field", "now", "after"):
            table.add_column(column)
        for change in plan.changes:
            table.add_row(
                change["path"],
                change["field"],
                "" if change["old"] in (None, "") else str(change["old"]),
                f"[green]{change['new']}[/green]",
            )
        console.print(table)
    else:
        console.print("No changes.")
    for error in plan.errors:
        console.print(f"[red]error:[/red] {error}", highlight=False)


def apply(client: Client, plan: Plan) -> int:
    for file_id, changes in plan.by_file.items():
        client.patch(f"/api/files/{file_id}/", changes)
    return len(plan.by_file)
