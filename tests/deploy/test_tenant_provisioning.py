"""`assay tenant create|list|suspend|resume|delete` against the real kubernetes client and a small API server
(test_tenant_fake_api.py), with the tenant's databases and role really created in Postgres (ADR 0068)."""
from __future__ import annotations

import base64
import json
import uuid

import psycopg
import pytest
import yaml

from assay_shared.db.bootstrap import url_with
from assay_shared.ratelimit import limits_parse
from assay_shared.tenants import command as cli
from assay_shared.tenants import objects as o
from assay_shared.tenants.kube import Kube
from assay_shared.tenants.reconcile import Registry, tenant_create, tenant_delete, tenant_list, tenant_suspend
from assay_shared.tenants.spec import SERVICES, spec_check
from assay_shared.testing.env import TEST_PG_URL

from .conftest import CHART, INSTALL_VALUES, deep_merge
from .test_tenant_fake_api import fake_api  # noqa: F401 - fixture

pytest.importorskip("kubernetes_validate")
from .test_chart_validate import strict_errors  # noqa: E402

REGISTRY = Registry(namespace="assay", name="assay-tenants")


@pytest.fixture
def name():
    """A tenant name of this run only; its databases and role are dropped afterwards."""
    tenant = f"t{uuid.uuid4().hex[:10]}"
    yield tenant
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        for svc in SERVICES:
            conn.execute(f'DROP DATABASE IF EXISTS "{tenant}_{svc}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{tenant}_app"')


@pytest.fixture
def kube(fake_api):  # noqa: F811
    fake, api = fake_api
    return Kube(api)


@pytest.fixture
def fake(fake_api):  # noqa: F811
    return fake_api[0]


@pytest.fixture
def install(kube, fake):
    """The install's namespace, where the shared-mode registry lives."""
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "assay"}})
    fake.requests.clear()


@pytest.fixture
def kubeconfig(fake, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": fake.url}}],
        "users": [{"name": "fake", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}]}))
    return str(path)


def postgres_state(tenant: str) -> tuple[dict | None, list[str]]:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        role = conn.execute("SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles "
                            "WHERE rolname = %s", [f"{tenant}_app"]).fetchone()
        dbs = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", [f"{tenant}\\_%"])
        return (dict(zip(("login", "super", "bypassrls", "createdb", "createrole"), role)) if role else None,
                [r[0] for r in dbs.fetchall()])


def secret_data(fake, namespace: str, name: str) -> dict[str, str]:
    secret = fake.object("Secret", name, namespace)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_every_object_built_passes_the_kubernetes_schemas_strictly():
    spec = spec_check(name="acme", mode="namespace", rate_per_second=5, rate_burst=10)
    built = [o.namespace_build(spec, state="active"), o.namespace_build(spec, state="suspended"),
             o.quota_build(spec, state="active"), o.quota_build(spec, state="suspended"), o.limits_build(spec),
             *o.network_policies_build(spec, ingress_namespace="ingress-nginx"),
             o.signing_secret_build(spec, kid="acme-1", private_pem="x", public_pem="y"),
             o.database_secret_build(spec, password="p", urls={"scoring": "postgresql://a@b/c"}),
             o.values_configmap_build(spec),
             o.registry_build(name="assay-tenants", namespace="assay",
                              entries={"beta": o.registry_entry(spec_check(name="beta", mode="shared"),
                                                                state="active")})]
    assert strict_errors(built) == []
    for obj in built:
        assert len(obj["metadata"]["name"]) <= 63
        assert all(len(v) <= 63 for v in obj["metadata"]["labels"].values())


def test_create_makes_the_namespace_its_objects_databases_and_role_and_a_second_create_writes_nothing(
        kube, fake, name, capsys, kubeconfig):
    # given a fresh cluster and Postgres server
    ns = f"assay-{name}"
    # when the tenant is created through the command
    code = cli.main(["tenant", "create", name, "--mode", "namespace", "--cpu", "4", "--memory", "8Gi",
                     "--pods", "40", "--rate-per-second", "20", "--rate-burst", "40", "--admin-url", TEST_PG_URL,
                     "--kubeconfig", kubeconfig])
    out = capsys.readouterr().out
    # then every object was created, with one write each and nothing else
    assert code == 0
    assert out.splitlines() == [f"created   {what}" for what in [
        f"Namespace/{ns}", f"ResourceQuota/{ns}/tenant-quota", f"LimitRange/{ns}/tenant-limits",
        *[f"NetworkPolicy/{ns}/{p}" for p in ("tenant-default-deny", "tenant-same-namespace", "tenant-dns",
                                               "tenant-servers", "tenant-web-from-ingress", "tenant-webhooks-public")],
        f"Secret/{ns}/tenant-signing-key", f"Secret/{ns}/tenant-database", f"Role/{name}_app",
        *[f"Database/{name}_{svc}" for svc in SERVICES], f"ConfigMap/{ns}/tenant-release-values"]]
    assert sorted(m for m, _ in fake.writes) == ["POST"] * 12
    namespace = fake.object("Namespace", ns)
    assert namespace["metadata"]["labels"] | {} == {
        "app.kubernetes.io/managed-by": "assay-tenant", "app.kubernetes.io/part-of": "assay", "assay.io/tenant": name,
        "assay.io/tenant-state": "active", "kubernetes.io/metadata.name": ns,
        "pod-security.kubernetes.io/enforce": "restricted"}
    assert fake.object("ResourceQuota", "tenant-quota", ns)["spec"] == {"hard": {
        "requests.cpu": "4", "requests.memory": "8Gi", "limits.memory": "8Gi", "pods": "40"}}
    # the signing key is an Ed25519 pair as `assay keys` makes; it is never printed
    signing = secret_data(fake, ns, "tenant-signing-key")
    assert signing["JWT_PRIVATE_KEY"].startswith("-----BEGIN PRIVATE KEY-----")
    assert json.loads(signing["JWT_PUBLIC_KEYS"]).keys() == {signing["JWT_KEY_ID"]}
    from assay_shared.auth.tokens import TokenVerifier, token_mint
    token = token_mint(private_pem=signing["JWT_PRIVATE_KEY"], kid=signing["JWT_KEY_ID"], tenant=name,
                       subject="u1", roles=["admin"])
    assert TokenVerifier(public_keys=json.loads(signing["JWT_PUBLIC_KEYS"])).verify(token).tenant == name
    database = secret_data(fake, ns, "tenant-database")
    assert signing["JWT_PRIVATE_KEY"] not in out and database["DB_APP_PASSWORD"] not in out
    # the role owns nothing and may not bypass row-level security; it can connect to each database
    assert postgres_state(name) == ({"login": True, "super": False, "bypassrls": False, "createdb": False,
                                     "createrole": False}, [f"{name}_{svc}" for svc in sorted(SERVICES)])
    assert database["SCORING_DATABASE_URL"] == url_with(TEST_PG_URL, database=f"{name}_scoring", user=f"{name}_app",
                                                        password=database["DB_APP_PASSWORD"])
    with psycopg.connect(database["SCORING_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (f"{name}_app",)

    # when it is created again
    fake.requests.clear()
    assert cli.main(["tenant", "create", name, "--mode", "namespace", "--cpu", "4", "--memory", "8Gi",
                     "--pods", "40", "--rate-per-second", "20", "--rate-burst", "40", "--admin-url", TEST_PG_URL,
                     "--kubeconfig", kubeconfig]) == 0
    again = capsys.readouterr().out.splitlines()
    # then every object is reported unchanged and nothing was written
    assert len(again) == 18 and all(line.startswith("unchanged ") for line in again)
    assert fake.writes == []
    assert secret_data(fake, ns, "tenant-signing-key") == signing


def test_a_changed_quota_updates_only_what_changed(kube, fake, name):
    spec = spec_check(name=name, mode="namespace")
    tenant_create(kube=kube, spec=spec, registry=REGISTRY, admin_url=TEST_PG_URL)
    before = fake.object("Secret", "tenant-database", f"assay-{name}")["data"]
    # the API server may store a quantity in another form ("8000m" for "8"): the same quota
    fake.object("ResourceQuota", "tenant-quota", f"assay-{name}")["spec"]["hard"]["requests.cpu"] = "8000m"
    fake.requests.clear()
    same = tenant_create(kube=kube, spec=spec, registry=REGISTRY, admin_url=TEST_PG_URL)
    assert fake.writes == [] and {c.action for c in same} == {"unchanged"}
    changes = tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace", pods="10"), registry=REGISTRY,
                            admin_url=TEST_PG_URL)
    assert [str(c) for c in changes if c.action != "unchanged"] == [
        f"updated   Namespace/assay-{name}", f"updated   ResourceQuota/assay-{name}/tenant-quota"]
    assert [m for m, _ in fake.writes] == ["PUT", "PUT"]
    assert fake.object("ResourceQuota", "tenant-quota", f"assay-{name}")["spec"]["hard"]["pods"] == "10"
    assert fake.object("Secret", "tenant-database", f"assay-{name}")["data"] == before


def test_release_values_pass_the_chart_schema_and_install(kube, fake, name, render):
    import jsonschema

    tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace", rate_per_second=3), registry=REGISTRY,
                  admin_url=TEST_PG_URL)
    cm = fake.object("ConfigMap", "tenant-release-values", f"assay-{name}")
    values = yaml.safe_load(cm["data"]["values.yaml"])
    assert cm["data"]["release"] == f"assay-{name}" and cm["data"]["namespace"] == f"assay-{name}"
    common = deep_merge(INSTALL_VALUES, {"shared": {"jwt": {"publicKeys": {}}}})
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(deep_merge(deep_merge(defaults, common), values), json.loads(
        (CHART / "values.schema.json").read_text()))
    rendered = render(base=deep_merge(common, values), release=f"assay-{name}")
    runtime = rendered.get("Secret", f"assay-{name}-runtime")["stringData"]
    assert runtime["SCORING_DATABASE_URL"].split("@")[0].startswith(f"postgresql://{name}_app:")
    assert runtime["SCORING_DATABASE_URL"].endswith(f"/{name}_scoring")
    web = rendered.get("Deployment", f"assay-{name}-scoring-web")
    env = {e["name"]: e for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ASSAY_BUS_PREFIX"]["value"] == name
    assert env["JWT_PUBLIC_KEYS"]["valueFrom"] == {"secretKeyRef": {"name": "tenant-signing-key",
                                                                    "key": "JWT_PUBLIC_KEYS"}}
    assert json.loads(env["RATE_LIMIT_TENANTS"]["value"]) == {name: {"per_second": 3.0, "burst": 0}}


def test_suspend_list_and_resume_in_namespace_mode(kube, fake, name, kubeconfig, capsys):
    ns = f"assay-{name}"
    tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace"), registry=REGISTRY, admin_url=TEST_PG_URL)
    fake.requests.clear()
    assert cli.main(["tenant", "suspend", name, "--kubeconfig", kubeconfig]) == 0
    assert capsys.readouterr().out.splitlines() == [f"updated   Namespace/{ns}",
                                                    f"updated   ResourceQuota/{ns}/tenant-quota"]
    assert fake.object("Namespace", ns)["metadata"]["labels"]["assay.io/tenant-state"] == "suspended"
    assert fake.object("ResourceQuota", "tenant-quota", ns)["spec"]["hard"]["pods"] == "0"
    # a second suspend, and a create, keep it suspended and write nothing
    fake.requests.clear()
    tenant_suspend(kube=kube, name=name, registry=REGISTRY)
    tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace"), registry=REGISTRY, admin_url=TEST_PG_URL)
    assert fake.writes == []
    assert cli.main(["tenant", "list", "--kubeconfig", kubeconfig, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{
        "name": name, "mode": "namespace", "state": "suspended", "where": f"namespace {ns}", "cpu": "8",
        "memory": "16Gi", "pods": "60", "rate_limit": None}]
    assert cli.main(["tenant", "resume", name, "--kubeconfig", kubeconfig]) == 0
    assert fake.object("ResourceQuota", "tenant-quota", ns)["spec"]["hard"]["pods"] == "60"
    assert [r.state for r in tenant_list(kube=kube, registry=REGISTRY)] == ["active"]


def test_delete_keeps_the_databases_unless_asked_to_drop_them(kube, fake, name, kubeconfig, capsys):
    tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace"), registry=REGISTRY, admin_url=TEST_PG_URL)
    assert cli.main(["tenant", "delete", name, "--kubeconfig", kubeconfig, "--admin-url", TEST_PG_URL]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"deleted   Namespace/assay-{name} (and every object in it)"
    assert out[1:] == [f"kept      {what} (--drop-data removes it)"
                       for what in [*[f"{name}_{s}" for s in sorted(SERVICES)], f"role {name}_app"]]
    assert fake.objects == {} and postgres_state(name)[1] == [f"{name}_{s}" for s in sorted(SERVICES)]
    # created again, the kept databases and role are found, the password stays the role's
    tenant_create(kube=kube, spec=spec_check(name=name, mode="namespace"), registry=REGISTRY, admin_url=TEST_PG_URL)
    database = secret_data(fake, f"assay-{name}", "tenant-database")
    with psycopg.connect(database["REVIEW_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (f"{name}_app",)
    changes = tenant_delete(kube=kube, name=name, registry=REGISTRY, admin_url=TEST_PG_URL, drop_data=True)
    assert [str(c) for c in changes][1:] == [*[f"deleted   Database/{name}_{s}" for s in SERVICES],
                                             f"deleted   Role/{name}_app"]
    assert postgres_state(name) == (None, [])
    assert cli.main(["tenant", "delete", name, "--kubeconfig", kubeconfig]) == 2
    assert capsys.readouterr().err == f"assay tenant: name: no tenant named {name!r}\n"


def test_shared_mode_registers_quotas_and_rate_limits_the_services_read(kube, fake, install, kubeconfig, capsys):
    assert cli.main(["tenant", "create", "acme", "--mode", "shared", "--rate-per-second", "5", "--rate-burst", "20",
                     "--kubeconfig", kubeconfig]) == 0
    assert cli.main(["tenant", "create", "beta", "--mode", "shared", "--pods", "10", "--kubeconfig", kubeconfig]) == 0
    assert capsys.readouterr().out.splitlines() == ["created   ConfigMap/assay/assay-tenants (tenant acme)",
                                                    "updated   ConfigMap/assay/assay-tenants (tenant beta)"]
    data = fake.object("ConfigMap", "assay-tenants", "assay")["data"]
    assert json.loads(data["acme.json"]) == {"mode": "shared", "state": "active", "rate_limit": {
        "per_second": 5.0, "burst": 20}, "quota": {"cpu": "8", "memory": "16Gi", "pods": "60"}}
    # RATE_LIMIT_TENANTS is what the services' own parser takes (ADR 0085)
    default, tenants = limits_parse(per_second="0", burst="0", tenants=data["RATE_LIMIT_TENANTS"])
    assert default is None and {t: (v.per_second, v.burst) for t, v in tenants.items()} == {"acme": (5.0, 20)}
    # run twice, change nothing
    fake.requests.clear()
    tenant_create(kube=kube, spec=spec_check(name="acme", mode="shared", rate_per_second=5, rate_burst=20),
                  registry=REGISTRY)
    assert fake.writes == []
    tenant_suspend(kube=kube, name="beta", registry=REGISTRY)
    assert [(r.name, r.mode, r.state) for r in tenant_list(kube=kube, registry=REGISTRY)] == [
        ("acme", "shared", "active"), ("beta", "shared", "suspended")]
    assert cli.main(["tenant", "delete", "acme", "--kubeconfig", kubeconfig]) == 0
    assert capsys.readouterr().out == "deleted   ConfigMap/assay/assay-tenants (tenant acme)\n"
    data = fake.object("ConfigMap", "assay-tenants", "assay")["data"]
    assert set(data) == {"beta.json", "RATE_LIMIT_TENANTS"} and json.loads(data["RATE_LIMIT_TENANTS"]) == {}


@pytest.mark.parametrize("args, field", [
    (["Acme", "--mode", "shared"], "name"),
    (["1abc", "--mode", "shared"], "name"),
    (["a_b", "--mode", "shared"], "name"),
    (["a-", "--mode", "shared"], "name"),
    (["a" * 41, "--mode", "shared"], "name"),
    (["", "--mode", "shared"], "name"),
    (["acme", "--mode", "cluster"], "mode"),
    (["acme", "--mode", "shared", "--cpu", "lots"], "cpu"),
    (["acme", "--mode", "shared", "--memory=-1Gi"], "memory"),
    (["acme", "--mode", "shared", "--memory", "16GB"], "memory"),
    (["acme", "--mode", "shared", "--pods", "1.5"], "pods"),
    (["acme", "--mode", "shared", "--pods", "0"], "pods"),
    (["acme", "--mode", "shared", "--rate-per-second", "fast"], "rate_per_second"),
    (["acme", "--mode", "shared", "--rate-per-second", "-1"], "rate_per_second"),
    (["acme", "--mode", "shared", "--rate-burst", "5"], "rate_burst"),
    (["acme", "--mode", "shared", "--rate-per-second", "1", "--rate-burst", "2.5"], "rate_burst"),
    (["acme", "--mode", "namespace", "--namespace-prefix", "Team_"], "namespace_prefix"),
    (["acme", "--mode", "namespace"], "admin_url"),
    (["acme", "--mode", "namespace", "--admin-url", "http://127.0.0.1:5432/postgres"], "admin_url"),
    (["acme", "--mode", "namespace", "--admin-url", "postgresql://postgres@127.0.0.1:1/postgres"], "admin_url"),
    (["assay", "--mode", "namespace", "--admin-url", TEST_PG_URL], "name"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(fake, kubeconfig, capsys, monkeypatch,
                                                                      args, field):
    monkeypatch.delenv("ADMIN_DATABASE_URL", raising=False)
    assert cli.main(["tenant", "create", *args, "--kubeconfig", kubeconfig]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"assay tenant: {field}: "), err
    assert fake.writes == [] and fake.objects == {}
    assert postgres_state("acme")[1] == [] and postgres_state("assay_")[0] is None


def test_a_name_taken_in_the_other_mode_or_by_a_foreign_namespace_is_refused(kube, fake, install, name, capsys,
                                                                           kubeconfig):
    tenant_create(kube=kube, spec=spec_check(name="beta", mode="shared"), registry=REGISTRY)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"assay-{name}"}})
    fake.requests.clear()
    for args, message in (
            (["beta", "--mode", "namespace"], "name: 'beta' is already a shared-mode tenant"),
            ([name, "--mode", "namespace"], f"name: namespace assay-{name} exists and is not this tenant's")):
        assert cli.main(["tenant", "create", *args, "--admin-url", TEST_PG_URL, "--kubeconfig", kubeconfig]) == 2
        assert capsys.readouterr().err == f"assay tenant: {message}\n"
    assert fake.writes == [] and postgres_state(name) == (None, []) and postgres_state("beta")[1] == []


def test_the_assay_command_has_the_tenant_verbs():
    from assay_shared.cli import parser_build

    for argv in (["tenant", "list"], ["tenant", "create", "acme", "--mode", "shared"], ["tenant", "suspend", "acme"],
                 ["tenant", "resume", "acme"], ["tenant", "delete", "acme", "--drop-data"]):
        assert parser_build().parse_args(argv).fn.__module__ == "assay_shared.tenants.command"
