"""The event catalog: one JSON schema per (event type, version).

Each producing service keeps its schemas in `assay_shared.events.schemas.<producer>`
as a dict `SCHEMAS = {(type, version): payload_schema}`; the catalog loads them all,
so every service validates every event on publish and on consume.

Each schema is also compiled to Python (fastjsonschema): an event that passes the compiled check is valid; one
that fails it is judged, and its reason written, by jsonschema, which stays the authority (ADR 0009).
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any, Callable

import fastjsonschema
from jsonschema import Draft202012Validator


def fast_check_compile(schema: dict) -> Callable[[Any], Any] | None:
    """The schema compiled to a check that raises on invalid data; None if it uses what the compiler lacks."""
    try:
        return fastjsonschema.compile({k: v for k, v in schema.items() if k != "$schema"})
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


class Catalog:
    def __init__(self) -> None:
        self._schemas: dict[tuple[str, int], dict] = {}
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}
        self._fast: dict[tuple[str, int], Callable[[Any], Any] | None] = {}
        self._producers: dict[str, str] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._load_all()

    def _load_all(self) -> None:
        from assay_shared.events import schemas

        for info in pkgutil.iter_modules(schemas.__path__):
            module = importlib.import_module(f"{schemas.__name__}.{info.name}")
            for key, schema in module.SCHEMAS.items():
                if key in self._schemas:
                    raise RuntimeError(f"event {key} is defined twice")
                Draft202012Validator.check_schema(schema)
                self._schemas[key] = schema
                self._validators[key] = Draft202012Validator(schema)
                self._fast[key] = fast_check_compile(schema)
                self._producers[key[0]] = info.name
        self._loaded = True

    def validator(self, type_: str, version: int) -> Draft202012Validator | None:
        self._load()
        return self._validators.get((type_, version))

    def fast_check(self, type_: str, version: int) -> Callable[[Any], Any] | None:
        self._load()
        return self._fast.get((type_, version))

    def versions(self, type_: str) -> list[int]:
        self._load()
        return sorted(v for (t, v) in self._schemas if t == type_)

    def types(self) -> list[str]:
        self._load()
        return sorted({t for (t, _) in self._schemas})

    def entries(self) -> list[tuple[str, int, str, dict]]:
        """(type, version, producer, schema) for documentation."""
        self._load()
        return [(t, v, self._producers[t], s) for (t, v), s in sorted(self._schemas.items())]


catalog = Catalog()
