"""Gold files (JSON Lines or CSV) read into the scoring service's import lines, every bad row named.

CSV columns: task_id, project_id, answer (JSON), reason[, answer_type]. Rows are numbered as in the file
(line 1 is the CSV header)."""
from __future__ import annotations

import csv
import io
import json
import re

COLUMNS = ("task_id", "project_id", "answer", "reason")


def lines_from_upload(*, name: str, raw: bytes) -> tuple[list[tuple[int, dict]], list[dict]]:
    """([(file line, item)], [{line, field, reason}]) for a CSV or JSON Lines file."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [{"line": 0, "field": "file", "reason": "is not UTF-8"}]
    if name.lower().endswith(".csv"):
        return _csv(text)
    items, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append({"line": number, "field": "", "reason": f"is not JSON ({exc.msg} at char {exc.pos})"})
            continue
        items.append((number, item))
    return items, errors


def _csv(text: str) -> tuple[list[tuple[int, dict]], list[dict]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [{"line": 1, "field": c, "reason": "column is missing"} for c in missing]
    items, errors = [], []
    for row in reader:
        number = reader.line_num
        try:
            answer = json.loads(row["answer"] or "")
        except json.JSONDecodeError as exc:
            errors.append({"line": number, "field": "answer", "reason": f"is not JSON ({exc.msg})"})
            continue
        item = {"task_id": row["task_id"], "project_id": row["project_id"], "answer": answer, "reason": row["reason"]}
        if row.get("answer_type"):
            item["answer_type"] = row["answer_type"]
        items.append((number, item))
    return items, errors


LINE_RE = re.compile(r"^lines\[(\d+)\]\.?(.*)$")


def service_errors(fields: dict[str, list[str]], items: list[tuple[int, dict]]) -> list[dict]:
    """The import's `lines[i].field` errors as rows of the file (i counts the lines sent)."""
    rows = []
    for path, reasons in fields.items():
        match = LINE_RE.match(path)
        line = items[int(match.group(1))][0] if match and int(match.group(1)) < len(items) else 0
        field = match.group(2) if match else path
        rows += [{"line": line, "field": field, "reason": reason} for reason in reasons]
    return sorted(rows, key=lambda r: (r["line"], r["field"]))
