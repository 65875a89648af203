"""pytest plugin for Assay: real databases, the standard cast of tokens, event capture, a real bus.

With DJANGO_SETTINGS_MODULE=assay_<service>.settings, the test process talks to the
database test_assay_<service>_<session> on ASSAY_TEST_PG_URL as the application role (so
row-level security applies), created and migrated afresh each session.
"""
from __future__ import annotations

import os
import re

from assay_shared.testing import env as test_env

_match = re.match(r"^assay_(\w+)\.settings$", os.environ.get("DJANGO_SETTINGS_MODULE", ""))
SERVICE = _match.group(1) if _match else None
if SERVICE:
    os.environ.update(test_env.service_env(service=SERVICE, database=test_env.test_database(SERVICE)))



def pytest_configure(config) -> None:
    from assay_shared.testing import fixtures

    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "assay_shared.testing.fixtures")
