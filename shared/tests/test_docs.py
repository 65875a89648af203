"""docs/architecture.md's event catalog stays equal to the code."""
import re
from pathlib import Path

from assay_shared.events.catalog import catalog

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")


def documented() -> dict[str, tuple[int, str, set[str]]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"^\| `([a-z_.]+)` \| (\d+) \| (\w+) \| (.*) \|$", line)
        if match:
            consumers = {c.strip().split(" ")[0] for c in match.group(4).split(",")}
            rows[match.group(1)] = (int(match.group(2)), match.group(3), consumers)
    return rows


def handled_types(service: str) -> set[str]:
    """Event types a service's handler registry registers (read from its source: other services'
    models cannot be imported into this test's Django project)."""
    package = DOC.parents[1] / "services" / service / f"assay_{service}"
    source = "\n".join(p.read_text() for p in package.rglob("handlers*.py"))
    if "registry.on_any()" in source or "registry.on_any_many()" in source:
        return set(catalog.types())
    return set(re.findall(r'registry\.on(?:_many)?\("([a-z_.]+)"', source))


def test_every_catalog_event_is_documented_with_its_producer():
    doc = documented()
    assert sorted(doc) == catalog.types()
    for type_, version, producer, _ in catalog.entries():
        assert doc[type_][:2] == (version, producer), type_


def test_documented_consumers_match_handler_registries():
    doc = documented()
    for service in SERVICES:
        handled = handled_types(service)
        listed = {t for t, (_, _, consumers) in doc.items() if service in consumers}
        assert listed == handled, service
