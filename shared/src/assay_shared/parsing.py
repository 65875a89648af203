"""One JSON reader for every request body and every imported line (ADR 0081).

`json_parse` refuses, in the shared error shape, what would otherwise reach a 500 further in:
documents nested deeper than `ASSAY_JSON_MAX_DEPTH` (Python's parser, serializers and jsonb all
recurse), and strings or keys holding characters Postgres cannot store (NUL, lone surrogates).
`JSONParser` is the DRF parser every service uses; its read is bounded by the route's body limit.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator

from django.conf import settings
from rest_framework.parsers import BaseParser

from assay_shared.errors import ApplicationError, PayloadTooLargeError

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# NUL is refused by Postgres in text and jsonb; a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def max_depth() -> int:
    return int(getattr(settings, "ASSAY_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def max_body_bytes() -> int:
    return int(getattr(settings, "ASSAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def malformed(field: str, reason: str, *, code: str = "malformed_body") -> ApplicationError:
    return ApplicationError(f"the request is invalid: {field}: {reason}", code=code, fields={field: [reason]})


def text_problem(value: str) -> str | None:
    """Why Postgres would refuse this text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains an unpaired surrogate (U+{ord(found.group()):04X}), which is not valid Unicode"


def json_check(value: Any, *, field: str = "body", depth: int | None = None) -> Any:
    """`value` itself, after checking its depth and every string and key in it (iteratively: no recursion)."""
    limit = max_depth() if depth is None else depth
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        node, path, level = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                raise malformed(path, problem, code="validation_error")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if level > limit:
            raise malformed(field or "body", f"is nested deeper than {limit} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                problem = text_problem(key)
                if problem:
                    raise malformed(path or "body", f"has a key that {problem}", code="validation_error")
                stack.append((child, f"{path}.{key}" if path else str(key), level + 1))
        else:
            stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(node))
    return value


def first_problem(exc: ApplicationError) -> str:
    """`field: reason` of an error raised here, for reports that list problems as text (imports)."""
    field, reasons = next(iter(exc.fields.items()), ("", [exc.message]))
    return f"{field}: {reasons[0]}" if field and field != "body" else reasons[0]


def json_parse(data: bytes | str, *, field: str = "body", depth: int | None = None) -> Any:
    """The JSON document in `data`, checked by `json_check`; ApplicationError (400) otherwise."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as exc:
        raise malformed(field, f"is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed(field, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        limit = max_depth() if depth is None else depth
        raise malformed(field, f"is nested deeper than {limit} levels") from None
    return json_check(value, field=field, depth=depth)


def read_bounded(stream, *, limit: int) -> bytes:
    """All of `stream`, refusing (413) past `limit` bytes without reading the rest."""
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise PayloadTooLargeError(limit=limit)
    return data


def bounded_lines(lines: Iterable[bytes], *, limit: int) -> Iterator[bytes]:
    """`lines` as they come, refusing (413) once more than `limit` bytes have come (streamed imports)."""
    total = 0
    for line in lines:
        total += len(line)
        if total > limit:
            raise PayloadTooLargeError(limit=limit)
        yield line


class JSONParser(BaseParser):
    """DRF's JSON parser on `json_parse`, reading at most the route's body limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = getattr(request, "assay_body_limit", None) or max_body_bytes()
        raw = read_bounded(stream, limit=limit)
        if not raw.strip():
            raise malformed("body", "is empty; send a JSON document")
        return json_parse(raw)
