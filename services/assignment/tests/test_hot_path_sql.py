"""The hot path's SQL: every migration applies its own frozen copy, the latest copy is the live file and the database
runs it; each function's result is read into its record by column name."""
import re
from pathlib import Path

import pytest

import assay_assignment
from assay_assignment.hotpath.functions import NextRow, SubmissionContext, SubmitRow

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


FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", re.S)


def function_columns(name: str) -> list[str]:
    """The result columns of a function in the migrated database, in order."""
    from tests.conftest import sql

    [(names, modes)] = sql("SELECT proargnames, proargmodes FROM pg_proc WHERE proname = %s", [name])
    return [n for n, mode in zip(names, modes) if mode in ("o", "b", "t")]


@pytest.mark.django_db
def test_the_migrated_database_runs_the_live_functions():
    from tests.conftest import sql

    live = dict(FUNCTION.findall(LIVE.read_text()))
    assert {"assignment_next", "assignment_submit", "assignment_submit_late", "assignment_submission_context",
            "assignment_next_many", "assignment_submit_many"} <= set(live)
    for name, body in live.items():
        assert sql("SELECT prosrc FROM pg_proc WHERE proname = %s", [name]) == [(body,)], name


@pytest.mark.django_db
@pytest.mark.parametrize("function,record", [
    ("assignment_next", NextRow), ("assignment_next_many", NextRow),
    ("assignment_submission_context", SubmissionContext),
    ("assignment_submit", SubmitRow), ("assignment_submit_many", SubmitRow),
])
def test_each_record_is_read_by_the_names_of_its_functions_columns(function, record):
    columns = function_columns(function)
    # the batch functions add the request's position
    if function.endswith("_many"):
        assert columns[0] == "o_index"
        columns = columns[1:]
    assert list(record.COLUMNS) == columns
    # and it is built by name: a row in another column order gives the same record
    row = {column: index for index, column in enumerate(columns)}
    assert record.of(dict(reversed(list(row.items())))) == tuple(range(len(columns)))


def test_no_python_code_composes_task_completed():
    # assignment_submit composes it, for answers on a held lease and late ones alike (ADRs 0057, 0064); a handler
    # may consume it (pipelines, ADR 0094)
    composing = [path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py")
                 if re.search(r"type[\"']?\s*[:=]\s*[\"']task\.completed[\"']", path.read_text())]
    assert composing == []
