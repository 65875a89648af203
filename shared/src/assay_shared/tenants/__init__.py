"""Tenant provisioning (`assay tenant create|list|suspend|resume|delete`, docs/deploy.md "Tenant provisioning").

`spec` validates a tenant's input and derives its names; `objects` builds the Kubernetes objects;
`kube` reads and writes them with the official client; `postgres` creates the tenant's databases and role;
`reconcile` puts these together, idempotently (ADR 0068).
"""
