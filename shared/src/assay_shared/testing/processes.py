"""Service processes for end-to-end tests (the same runner the local stack uses)."""
from assay_shared.stack.processes import ServiceProcess, drop_databases, free_port, service_migrate

__all__ = ["ServiceProcess", "drop_databases", "free_port", "service_migrate"]
