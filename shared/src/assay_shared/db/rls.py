"""Migration operations for row-level security and the application role's grants."""
from __future__ import annotations

import os

from django.db import migrations

POLICY = "tenant_isolation"


def app_role() -> str:
    """The role the application connects as (DB_APP_ROLE, default assay_app)."""
    return os.environ.get("DB_APP_ROLE", "assay_app")


class EnableRowLevelSecurity(migrations.RunSQL):
    """ENABLE + FORCE row-level security on `table`, admitting rows whose tenant_id is app.tenant_id."""

    def __init__(self, table: str, *, column: str = "tenant_id") -> None:
        setting = "current_setting('app.tenant_id', true)"
        super().__init__(
            sql=[
                f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
                f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
                f'CREATE POLICY {POLICY} ON "{table}" USING ("{column}" = {setting}) '
                f'WITH CHECK ("{column}" = {setting})',
            ],
            reverse_sql=[
                f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
                f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
                f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
            ],
        )


class GrantAppRole(migrations.RunSQL):
    """Give the application role data access (not ownership) to every table and sequence.

    Put it last in each migration that creates tables: grants on existing objects,
    plus default privileges for objects the migrating role creates later.
    """

    def __init__(self) -> None:
        role = app_role()
        super().__init__(
            sql=[
                f"""DO $$ BEGIN
                  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                    RAISE EXCEPTION 'database role {role} does not exist: run "assay db bootstrap" first';
                  END IF; END $$""",
                f"GRANT USAGE ON SCHEMA public TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {role}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
            ],
            reverse_sql=migrations.RunSQL.noop,
        )
