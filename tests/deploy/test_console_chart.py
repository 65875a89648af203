"""The console in the chart and in k8s/: its Deployment, Service, Secret, Ingress and egress policy, the
values it refuses (naming them), and names that stay valid for long release names."""
from __future__ import annotations

import pytest
import yaml

from .conftest import CONSOLE_VALUES, K8S, PRIVATE_PEM, SERVICES, deep_merge, env_of, generate, load_base

kubernetes_validate = pytest.importorskip("kubernetes_validate")
from .test_chart_validate import DNS_1035_LABEL, DNS_1123_LABEL, k8s_versions, strict_errors  # noqa: E402

OIDC_KEYS = {"OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT",
             "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"}
WITH_EVERYTHING = deep_merge(CONSOLE_VALUES, {
    "ingress": {"enabled": True},
    "networkPolicy": {"enabled": True, "egress": {"enabled": True, "consoleTo": [
        {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]}},
})


def _web(out) -> dict:
    return out.get("Deployment", "assay-console-web")["spec"]["template"]["spec"]["containers"][0]


def test_off_by_default(render):
    out = render()
    assert not [o for o in out if "console" in o["metadata"]["name"]]


def test_the_console_renders_and_passes_the_kubernetes_schemas(render):
    out = render(WITH_EVERYTHING)
    mine = [o for o in out if o["metadata"]["labels"].get("assay/service") == "console"]
    assert {(o["kind"], o["metadata"]["name"]) for o in mine} == {
        ("Deployment", "assay-console-web"), ("Service", "assay-console"), ("Secret", "assay-console"),
        ("PodDisruptionBudget", "assay-console-web"), ("Ingress", "assay-console"),
        ("NetworkPolicy", "assay-console-egress")}
    assert strict_errors(mine) == []


def test_the_deployment_runs_uvicorn_with_healthz_probes_and_the_locked_down_pod(render):
    out = render(CONSOLE_VALUES)
    deployment = out.get("Deployment", "assay-console-web")
    spec = deployment["spec"]["template"]["spec"]
    web = _web(out)
    assert "uvicorn assay_console.asgi:application --host 0.0.0.0 --port 8000" in web["args"][0]
    assert web["image"] == "registry.example.com/assay:1.2.3"  # the same image as the services
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert web[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert web["securityContext"]["readOnlyRootFilesystem"] is True and spec["automountServiceAccountToken"] is False
    assert "initContainers" not in spec  # no database, no migrations to wait for
    assert not [o for o in out.of("Job") if "console" in o["metadata"]["name"]]
    assert deployment["spec"]["replicas"] == 2
    service = out.get("Service", "assay-console")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_environment_names_what_the_console_reads(render):
    env = env_of(_web(render(CONSOLE_VALUES)))
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "assay_console.settings"
    for svc in SERVICES:
        assert env[f"SERVICE_URL_{svc.upper()}"]["value"] == f"http://assay-{svc}:80"
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "assay-runtime", "key": "REDIS_URL"}
    for key in ("JWT_PRIVATE_KEY", "JWT_KEY_ID", "DJANGO_SECRET_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "assay-console", "key": key}
    for key in OIDC_KEYS:
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "assay-oidc", "key": key}
    plain = {k: v.get("value") for k, v in env.items() if "value" in v}
    assert plain["CONSOLE_SECURE_COOKIES"] == "1" and plain["CONSOLE_LOCAL_SIGNIN"] == "0"
    assert plain["ASSAY_BUS_PREFIX"] == "assay" and plain["CONSOLE_TOKEN_TTL"] == "300"
    assert plain["OIDC_RP_SIGN_ALGO"] == "RS256" and plain["OIDC_TENANT_CLAIM"] == "tenant"
    assert not {"DATABASE_URL", "BROKER_URL", "JWT_PUBLIC_KEYS"} & set(env)


def test_the_chart_managed_secret_carries_the_signing_key(render):
    secret = render(CONSOLE_VALUES).get("Secret", "assay-console")
    assert secret["stringData"] == {"JWT_KEY_ID": "k2025", "JWT_PRIVATE_KEY": PRIVATE_PEM,
                                    "DJANGO_SECRET_KEY": "c" * 50}


def test_existing_secrets_are_referenced_and_none_is_rendered(render):
    values = deep_merge(CONSOLE_VALUES, {"console": {"existingSecret": "my-console", "jwtKeyId": "",
                                                     "jwtPrivateKey": "", "djangoSecretKey": ""},
                                         "shared": {"existingSecret": "my-runtime"}})
    out = render(values)
    env = env_of(_web(out))
    assert env["JWT_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "my-console"
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "my-runtime"
    assert "assay-console" not in out.names("Secret")


def test_extra_env_cannot_override_secrets(render):
    values = deep_merge(CONSOLE_VALUES, {"console": {"env": {"JWT_KEY_ID": "forged", "FORWARDED_ALLOW_IPS": "*"}}})
    env = env_of(_web(render(values)))
    assert "valueFrom" in env["JWT_KEY_ID"] and env["FORWARDED_ALLOW_IPS"]["value"] == "*"


def test_local_signin_without_oidc(render):
    values = deep_merge(CONSOLE_VALUES, {"console": {"localSignin": True, "oidc": {"existingSecret": ""}}})
    env = env_of(_web(render(values)))
    assert env["CONSOLE_LOCAL_SIGNIN"]["value"] == "1" and not OIDC_KEYS & set(env)


@pytest.mark.parametrize("overrides, message", [
    ({"console": {"jwtPrivateKey": ""}}, "console.jwtPrivateKey is required"),
    ({"console": {"jwtPrivateKey": "not a pem"}}, "console.jwtPrivateKey: is not a PEM private key"),
    ({"console": {"jwtKeyId": "other"}}, "console.jwtKeyId: \"other\" is not a key id of shared.jwt.publicKeys"),
    ({"console": {"djangoSecretKey": ""}}, "console.djangoSecretKey is required"),
    ({"console": {"oidc": {"existingSecret": ""}}}, "console.oidc.existingSecret is required"),
    ({"services": {"metrics": {"enabled": False}}}, "services.metrics is disabled"),
])
def test_the_chart_refuses_a_console_that_could_not_work(render, overrides, message):
    with pytest.raises(generate.ChartRenderError) as refused:
        render(deep_merge(CONSOLE_VALUES, overrides))
    assert message in str(refused.value)


@pytest.mark.parametrize("overrides, path", [
    ({"console": {"replica": 2}}, "console"),
    ({"console": {"tokenTtl": 5}}, "console/tokenTtl"),
    ({"console": {"concurrency": 0}}, "console/concurrency"),
    ({"console": {"oidc": {"signAlgo": "none"}}}, "console/oidc/signAlgo"),
    ({"console": {"oidc": {"clientId": "x"}}}, "console/oidc"),
    ({"console": {"ingress": {"path": "/console"}}}, "console/ingress"),
    ({"console": {"env": {"EXTRA": ["a", "list"]}}}, "console/env/EXTRA"),
])
def test_the_values_schema_refuses_unknown_or_wrong_console_values(render, overrides, path):
    with pytest.raises(generate.ChartRenderError) as refused:
        render(deep_merge(CONSOLE_VALUES, overrides))
    message = str(refused.value)
    assert f"/{path}" in message or path.replace("/", ".") in message, message


def test_ingress_host_mode_gives_the_console_its_own_host_with_websocket_timeouts(render):
    (ing,) = [o for o in render(WITH_EVERYTHING).of("Ingress") if o["metadata"]["name"] == "assay-console"]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "console.assay.example.com"
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "assay-console", "port": {"name": "http"}}}}]
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"


def test_ingress_path_mode_serves_the_console_at_the_root_without_the_services_rewrite(render):
    values = deep_merge(WITH_EVERYTHING, {"ingress": {"mode": "path", "host": "assay.example.org", "annotations": {
        "nginx.ingress.kubernetes.io/rewrite-target": "/$2"}, "tls": [{"secretName": "assay-tls"}]}})
    out = render(values)
    console = out.get("Ingress", "assay-console")
    services = out.get("Ingress", "assay")
    assert console["spec"]["rules"][0]["host"] == services["spec"]["rules"][0]["host"] == "assay.example.org"
    assert console["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/"
    assert "nginx.ingress.kubernetes.io/rewrite-target" not in console["metadata"]["annotations"]
    assert console["spec"]["tls"] == [{"secretName": "assay-tls", "hosts": ["assay.example.org"]}]
    assert "console" not in {p["path"].strip("/") for p in services["spec"]["rules"][0]["http"]["paths"]}


def test_egress_admits_the_services_web_ports_and_redis_but_no_database_or_broker(render):
    out = render(WITH_EVERYTHING)
    policy = out.get("NetworkPolicy", "assay-console-egress")
    assert policy["spec"]["podSelector"]["matchLabels"]["assay/service"] == "console"
    ports = [p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])]
    assert 8000 in ports and 6379 in ports and 443 in ports
    assert 5432 not in ports and 5672 not in ports
    services_rule = next(r for r in policy["spec"]["egress"] if r["ports"][0]["port"] == 8000)
    (peer,) = services_rule["to"]
    assert peer["podSelector"]["matchExpressions"] == [
        {"key": "assay/service", "operator": "In", "values": sorted(SERVICES)}]
    # the policy of every other pod (Postgres, broker) does not select the console's pods
    general = out.get("NetworkPolicy", "assay-egress")
    assert {"key": "assay/service", "operator": "NotIn", "values": ["console"]} in \
        general["spec"]["podSelector"]["matchExpressions"]


@pytest.mark.parametrize("release", ["c" * 53, "x" * 38 + ".console-tenant"])
def test_the_longest_release_name_helm_allows_still_gives_valid_names(render, release):
    # 53 characters: the official helm refuses longer release names itself
    out = render(WITH_EVERYTHING, release=release)
    mine = [o for o in out if o["metadata"]["labels"].get("assay/service") == "console"]
    assert len(mine) == 6
    for obj in mine:
        name = obj["metadata"]["name"]
        assert len(name) <= 63 and DNS_1123_LABEL.match(name), name
    service = next(o for o in mine if o["kind"] == "Service")
    assert DNS_1035_LABEL.match(service["metadata"]["name"])
    env = {e["name"]: e.get("value") for e in next(o for o in mine if o["kind"] == "Deployment")
           ["spec"]["template"]["spec"]["containers"][0]["env"]}
    for svc in SERVICES:  # each URL names a Service the same render created
        host = env[f"SERVICE_URL_{svc.upper()}"].removeprefix("http://").removesuffix(":80")
        assert host in out.names("Service")
    assert strict_errors(mine, versions=k8s_versions()[-1:]) == []


def test_the_plain_manifests_run_the_console_from_the_overlays_secrets():
    base = [o for o in load_base() if o["metadata"]["labels"].get("assay/service") == "console"]
    assert {(o["kind"], o["metadata"]["name"]) for o in base} == {
        ("Deployment", "assay-console-web"), ("Service", "assay-console"),
        ("PodDisruptionBudget", "assay-console-web")}
    web = next(o for o in base if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in web["env"] if "valueFrom" in e}
    assert refs == {"REDIS_URL": "assay-runtime", "JWT_PRIVATE_KEY": "assay-console", "JWT_KEY_ID": "assay-console",
                    "DJANGO_SECRET_KEY": "assay-console", **{k: "assay-oidc" for k in OIDC_KEYS}}
    overlay = yaml.safe_load((K8S / "overlays" / "example" / "kustomization.yaml").read_text())
    generated = {g["name"] for g in overlay["secretGenerator"]}
    assert {"assay-console", "assay-oidc"} <= generated


def test_helm_test_also_asks_the_consoles_healthz(render):
    (pod,) = render(CONSOLE_VALUES).of("Pod")
    (c,) = pod["spec"]["containers"]
    assert c["args"][2] == "http://assay-console:80" and '"/healthz"' in c["args"][0]
    (plain,) = render().of("Pod")
    assert len(plain["spec"]["containers"][0]["args"]) == 2


def test_notes_name_the_console(tmp_path):
    helm_python = pytest.importorskip("helm_python")  # the renderer that returns NOTES.txt

    from .conftest import CHART, INSTALL_VALUES

    values = deep_merge(INSTALL_VALUES, deep_merge(CONSOLE_VALUES, {"ingress": {"enabled": True}}))
    with helm_python.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name="assay", namespace="ns")
    notes = next(v for k, v in rendered.items() if k.endswith("NOTES.txt"))
    assert "console     http://assay-console.ns.svc:80/" in notes
    assert "console     https://console.assay.example.com/" in notes
