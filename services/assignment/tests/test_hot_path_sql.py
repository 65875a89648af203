"""The hot path's SQL: every migration applies its own frozen copy, and the latest copy is the live file."""
import re
from pathlib import Path

import assay_assignment

PACKAGE = Path(assay_assignment.__file__).resolve().parent
LIVE = PACKAGE / "hotpath" / "sql" / "hot_path.sql"
MIGRATIONS = PACKAGE / "core" / "migrations"
FROZEN = sorted((MIGRATIONS / "sql").glob("[0-9][0-9][0-9][0-9]_hot_path.sql"))


def test_the_latest_frozen_copy_is_the_live_file():
    # editing hotpath/sql/hot_path.sql without a migration that carries the new text fails here
    assert FROZEN, "no frozen copy of the hot-path SQL under core/migrations/sql"
    assert FROZEN[-1].read_text() == LIVE.read_text(), (
        f"{LIVE.relative_to(PACKAGE)} differs from {FROZEN[-1].relative_to(PACKAGE)}: add a migration that applies"
        " the new text from a frozen copy of its own (core/migrations/sql/NNNN_hot_path.sql)")


def test_each_frozen_copy_belongs_to_its_migration_and_no_migration_reads_the_live_file():
    migrations = {path.name[:4]: path for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py")}
    for copy in FROZEN:
        number = copy.name[:4]
        assert number in migrations, f"{copy.name} has no migration {number}"
        assert copy.name in migrations[number].read_text(), f"migration {number} does not apply {copy.name}"
    for path in migrations.values():
        source = path.read_text()
        assert not re.search(r"[\"'](hotpath|hot_path\.sql)[\"']", source), (
            f"{path.name} reads the live SQL file; it must apply a frozen copy of its own")
        # a migration applies its own copy, or (to undo itself) an earlier migration's
        assert all(number <= path.name[:4] for number in re.findall(r"[\"'](\d{4})_hot_path\.sql[\"']", source))
