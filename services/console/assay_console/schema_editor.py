"""The schema editor's text form <-> a label schema definition, and service error paths -> form fields.

Labels: one per line. Attributes (given to every label): one per line, `name type [options…] [min=N] [max=N]
[required]`, e.g. `colour select red green blue required`, `count number min=0 max=10`, `occluded boolean`.
"""
from __future__ import annotations

import re

ANSWER_TYPES = ("single_choice", "multi_choice", "bbox", "polygon", "keypoints", "text_span", "free_text")
ATTRIBUTE_TYPES = ("select", "multi_select", "number", "text", "boolean")


class EditorError(ValueError):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items()))


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def attribute_parse(line: str, number: int) -> dict:
    words = line.split()
    if len(words) < 2:
        raise EditorError({"attributes": [f"line {number}: needs a name and a type ({', '.join(ATTRIBUTE_TYPES)})"]})
    name, kind, rest = words[0], words[1], words[2:]
    if kind not in ATTRIBUTE_TYPES:
        raise EditorError({"attributes": [f"line {number}: type {kind!r} is not one of {', '.join(ATTRIBUTE_TYPES)}"]})
    attr: dict = {"name": name, "type": kind}
    options = []
    for word in rest:
        if word == "required":
            attr["required"] = True
        elif re.fullmatch(r"(min|max)=.*", word):
            bound, value = word.split("=", 1)
            try:
                attr[bound] = _number(value)
            except ValueError:
                raise EditorError({"attributes": [f"line {number}: {bound} must be a number, got {value!r}"]}) from None
        else:
            options.append(word)
    if options:
        attr["options"] = options
    return attr


def schema_from_form(*, answer_type: str, labels: str, attributes: str, max_objects: str) -> dict:
    """The definition the form describes; EditorError names the field of a line that cannot be read."""
    errors: dict[str, list[str]] = {}
    attrs = []
    for number, line in enumerate(attributes.splitlines(), start=1):
        if line.strip():
            try:
                attrs.append(attribute_parse(line, number))
            except EditorError as exc:
                for key, reasons in exc.fields.items():
                    errors.setdefault(key, []).extend(reasons)
    definition: dict = {"answer_type": answer_type,
                        "labels": [{"name": name.strip(), "attributes": attrs}
                                   for name in labels.splitlines() if name.strip()]}
    if max_objects.strip():
        try:
            definition["max_objects"] = int(max_objects)
        except ValueError:
            errors["max_objects"] = [f"must be a whole number, got {max_objects!r}"]
    if errors:
        raise EditorError(errors)
    return definition


def schema_to_form(definition: dict) -> dict:
    labels = definition.get("labels") or []
    lines = []
    for attr in (labels[0].get("attributes") or []) if labels else []:
        words = [attr["name"], attr["type"], *attr.get("options", [])]
        words += [f"{b}={attr[b]}" for b in ("min", "max") if b in attr]
        words += ["required"] if attr.get("required") else []
        lines.append(" ".join(str(w) for w in words))
    return {"answer_type": definition.get("answer_type", ""), "labels": "\n".join(label["name"] for label in labels),
            "attributes": "\n".join(lines), "max_objects": str(definition.get("max_objects") or "")}


def field_of(path: str, known: tuple[str, ...]) -> str:
    """The form field a service's error path belongs to: `schema.labels[0].attributes[1].type` -> attributes."""
    path = path.removeprefix("schema.").removeprefix("schema")
    if "attributes" in path:
        return "attributes"
    head = re.split(r"[.\[]", path, maxsplit=1)[0] if path else ""
    if head in known:
        return head
    return "labels" if head.startswith("labels") else "general"


def errors_by_field(fields: dict[str, list[str]], known: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, reasons in fields.items():
        key = field_of(path, known)
        prefix = f"{path}: " if key not in (path, f"schema.{path}") and path else ""
        out.setdefault(key, []).extend(f"{prefix}{r}" for r in reasons)
    return out
