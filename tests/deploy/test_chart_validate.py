"""Rendered objects a cluster would accept: values schema, Kubernetes schemas (strict), names, labels, ports,
egress policies and the `helm test` pod (ADR 0083)."""
from __future__ import annotations

import ipaddress
import json
import re

import pytest
import yaml

from .conftest import CHART, CONSOLE_VALUES, INSTALL_VALUES, SERVICES, deep_merge, generate

kubernetes_validate = pytest.importorskip("kubernetes_validate")
from kubernetes_validate import utils as kv_utils  # noqa: E402

EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
# Kinds of custom resources: no Kubernetes schema; the render tests check their fields.
CUSTOM = {"ServiceMonitor", "ScaledObject", "TriggerAuthentication", "PrometheusRule"}
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
EVERY_OPTION = {
    "ingress": {"enabled": True},
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
    "grafanaDashboard": {"enabled": True},
    "networkPolicy": {"enabled": True, "webFrom": [{"podSelector": {}}], "egress": {"enabled": True}},
    "defaults": {"web": {"autoscaling": {"enabled": True}}},
    "services": {"scoring": {"worker": {"keda": {"enabled": True}}}},
    **CONSOLE_VALUES,
}


def k8s_versions() -> list[str]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    floor = tuple(int(x) for x in re.search(r"(\d+)\.(\d+)", chart["kubeVersion"]).groups())
    known = sorted({v for v in kv_utils.all_versions()}, key=lambda v: tuple(int(x) for x in v.split(".")))
    return [v for v in known if tuple(int(x) for x in v.split(".")[:2]) >= floor]


def strict_errors(objects, *, versions: list[str] | None = None) -> list[str]:
    errors = []
    unique = {json.dumps(o, sort_keys=True): o for o in objects if o["kind"] not in CUSTOM}
    for version in versions or k8s_versions():
        for obj in unique.values():
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{version} {obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    return errors


def renders(render):
    yield "install values", render()
    yield "every option", render(EVERY_OPTION)
    yield "job mode", render({"migrations": {"mode": "job"}})
    for path in EXAMPLES:
        yield path.name, render(base=yaml.safe_load(path.read_text()))


def test_the_supported_versions_are_known_to_the_validator():
    versions = k8s_versions()
    assert versions[0] == "1.25.0" and len(versions) >= 8


def test_every_render_passes_the_kubernetes_schemas_strictly(render):
    # every object of every render once (one per name and content), for each supported version
    objects = []
    for what, rendered in renders(render):
        assert rendered, what
        objects.extend(rendered)
    assert strict_errors(objects) == []


def test_a_misspelt_field_would_be_caught():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
               "spec": {"selector": {"a": "b"}, "ports": [{"port": 80, "targetPrt": 8000}]}}
    assert strict_errors([service])


@pytest.mark.parametrize("release", ["a", "assay", "tenant-group-a-assay", "r" * 53, "x" * 40 + "-assay-tenant",
                                     "1st.tenant.example"])
def test_names_labels_and_ports_fit_for_any_release_name(render, release):
    objects = render(EVERY_OPTION, release=release)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(set(names)) == len(names)
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= 63 and DNS_1123_LABEL.match(name), name
        if obj["kind"] == "Service":
            assert DNS_1035_LABEL.match(name), name
        for labels in (obj["metadata"].get("labels") or {},
                       obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}):
            for key, value in labels.items():
                assert len(value) <= 63 and LABEL_VALUE.match(value), (name, key, value)
        for port in (obj.get("spec", {}).get("ports") or []):
            assert 1 <= port["port"] <= 65535 and len(port["name"]) <= 15
        for c in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for port in c.get("ports", []):
                assert 1 <= port["containerPort"] <= 65535 and len(port["name"]) <= 15
    assert strict_errors(objects, versions=k8s_versions()[-1:]) == []


def test_two_long_release_names_do_not_share_a_prefix(render):
    a = render(release="r" * 45 + "-one").names("Service")
    b = render(release="r" * 45 + "-two").names("Service")
    assert not a & b


@pytest.mark.parametrize("overrides, path", [
    ({"defaults": {"web": {"replicas": "two"}}}, "defaults/web/replicas"),
    ({"service": {"port": "eighty"}}, "service/port"),
    ({"service": {"port": 70000}}, "service/port"),
    ({"services": {"scoring": {"web": {"replicaz": 2}}}}, "services/scoring/web"),
    ({"services": {"billing": {"enabled": True}}}, "services"),
    ({"shared": {"logLevel": "LOUD"}}, "shared/logLevel"),
    ({"shared": {"busPrefix": "Bad Prefix"}}, "shared/busPrefix"),
    ({"shared": {"postgres": {"appRole": "app-role"}}}, "shared/postgres/appRole"),
    ({"migrations": {"mode": "initcontainer"}}, "migrations/mode"),
    ({"ingress": {"enabled": True, "mode": "both"}}, "ingress/mode"),
    ({"services": {"review": {"worker": {"keda": {"enabled": True, "queueLength": 0}}}}},
     "services/review/worker/keda/queueLength"),
    ({"defaults": {"web": {"concurrency": 0}}}, "defaults/web/concurrency"),
    ({"image": {"pullPolicy": "Sometimes"}}, "image/pullPolicy"),
    ({"networkPolicy": {"egress": {"privateCidrs": ["not a cidr"]}}}, "networkPolicy/egress/privateCidrs"),
])
def test_the_values_schema_refuses_wrong_values_naming_them(render, overrides, path):
    with pytest.raises(generate.ChartRenderError) as refused:
        render(overrides)
    message = str(refused.value)
    # helm-python-sdk says "at '/a/b'", the helm binary "- a.b:"; either names the value
    assert f"/{path}" in message or path.replace("/", ".") in message, message


def test_the_schema_is_a_json_schema_whose_defaults_pass():
    import jsonschema

    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)
    for path in EXAMPLES:
        defaults = yaml.safe_load((CHART / "values.yaml").read_text())
        jsonschema.validate(deep_merge(defaults, yaml.safe_load(path.read_text())), schema)


def test_egress_policies_close_webhook_delivery_to_private_addresses(render):
    out = render({"networkPolicy": {"egress": {"enabled": True, "broker": {"to": [{"podSelector": {
        "matchLabels": {"app": "rabbitmq"}}}]}}}})
    every = out.get("NetworkPolicy", "assay-egress")["spec"]
    assert every["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "assay", "app.kubernetes.io/instance": "assay"}
    assert every["policyTypes"] == ["Egress"]
    rules = every["egress"]
    assert rules[0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert rules[0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert rules[1] == {"ports": [{"port": 8000, "protocol": "TCP"}], "to": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "assay", "app.kubernetes.io/instance": "assay", "assay/process": "web"}}}]}
    assert [r["ports"] for r in rules[2:]] == [[{"port": 5432, "protocol": "TCP"}], [{"port": 5672, "protocol": "TCP"}],
                                              [{"port": 6379, "protocol": "TCP"}]]
    assert "to" not in rules[2] and rules[3]["to"] == [{"podSelector": {"matchLabels": {"app": "rabbitmq"}}}]
    # no rule of the common policy reaches an arbitrary address on an arbitrary port
    assert all("ports" in r for r in rules)
    hooks = out.get("NetworkPolicy", "assay-webhooks-egress")["spec"]
    assert hooks["podSelector"]["matchLabels"]["assay/service"] == "webhooks"
    (public,) = hooks["egress"]
    v4, v6 = (peer["ipBlock"] for peer in public["to"])
    assert (v4["cidr"], v6["cidr"]) == ("0.0.0.0/0", "::/0")
    for address in ("10.0.0.1", "127.0.0.1", "169.254.169.254", "172.16.5.4", "192.168.1.1", "100.64.0.1", "0.0.0.0"):
        assert any(ipaddress.ip_address(address) in ipaddress.ip_network(c) for c in v4["except"]), address
    for address in ("::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"):
        assert any(ipaddress.ip_address(address) in ipaddress.ip_network(c) for c in v6["except"]), address
    for address in ("93.184.216.34", "8.8.8.8"):
        assert not any(ipaddress.ip_address(address) in ipaddress.ip_network(c) for c in v4["except"]), address
    # off by default; opting out of public-only gives the webhooks pods any address
    assert not render().of("NetworkPolicy")
    open_ = render({"networkPolicy": {"egress": {"enabled": True, "webhooksPublicOnly": False}}})
    assert open_.get("NetworkPolicy", "assay-webhooks-egress")["spec"]["egress"] == [{}]


def test_helm_test_pod_asks_every_service_through_its_service(render):
    out = render({"services": {"review": {"enabled": False}}})
    (pod,) = out.of("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (c,) = pod["spec"]["containers"]
    urls = json.loads(c["args"][1])
    assert urls == {s: f"http://assay-{s}:80" for s in SERVICES if s != "review"}
    assert set(urls) <= {name.removeprefix("assay-") for name in out.names("Service")}
    assert "/readyz" in c["args"][0] and "/api/schema" in c["args"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["spec"]["restartPolicy"] == "Never"
    assert not render({"tests": {"enabled": False}}).of("Pod")


def test_renders_agree_whatever_the_renderer_order(render):
    # objects come sorted by (kind order, kind, name), so two renders compare equal as lists
    first, second = render(), render()
    assert [generate.object_key(o) for o in first] == sorted(generate.object_key(o) for o in first)
    assert first == second
    assert generate.same_content(yaml.safe_dump_all(list(first)), yaml.safe_dump_all(list(reversed(first))))
    assert not generate.same_content(yaml.safe_dump_all(list(first)), yaml.safe_dump_all(list(first)[1:]))


def test_install_values_need_no_more_than_the_docs_say():
    assert set(INSTALL_VALUES) == {"image", "shared"}


def test_rate_limits_reach_every_process_as_environment(render):
    from .conftest import env_of

    out = render({"shared": {"rateLimit": {"perSecond": 50, "burst": 100,
                                           "tenants": {"acme": {"per_second": 5, "burst": 10}}}}})
    web = out.get("Deployment", "assay-review-web")["spec"]["template"]["spec"]["containers"][0]
    env = {k: v["value"] for k, v in env_of(web).items() if k.startswith("RATE_LIMIT")}
    assert env == {"RATE_LIMIT_PER_SECOND": "50", "RATE_LIMIT_BURST": "100",
                   "RATE_LIMIT_TENANTS": '{"acme":{"burst":10,"per_second":5}}'}
    with pytest.raises(generate.ChartRenderError):
        render({"shared": {"rateLimit": {"perSecond": -1}}})


def _metric_names() -> set[str]:
    from .conftest import ROOT

    text = (ROOT / "shared" / "src" / "assay_shared" / "observability" / "metrics.py").read_text()
    names = set()
    for kind, name in re.findall(r'(Counter|Gauge|Histogram)\(\s*"([a-z_]+)"', text):
        names |= {name.removesuffix("_total") + "_total"} if kind == "Counter" else (
            {f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "Histogram" else {name})
    return names


def _used_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(assay_[a-z_]+)\b", expr))


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for ch in expr:
        if ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return not any(depth.values())


def test_alerts_cover_what_the_issue_names_on_metrics_that_exist(render):
    out = render({"prometheusRule": {"enabled": True, "labels": {"release": "prom"}, "p99Seconds": 0.5}})
    (rule,) = out.of("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["labels"]["release"] == "prom"
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {"AssayConsumerLagHigh", "AssayDeadLetters", "AssayOutboxBacklog", "AssayOutboxStale",
                           "AssayHttp5xxRate", "AssayHttpLatencyP99"}
    known = _metric_names()
    for name, alert in alerts.items():
        expr = alert["expr"]
        assert _used_metrics(expr) and _used_metrics(expr) <= known, (name, _used_metrics(expr) - known)
        assert _balanced(expr) and 'namespace="assay-ns"' in expr, name
        assert alert["labels"]["severity"] in ("warning", "critical") and alert["annotations"]["summary"], name
    assert alerts["AssayHttpLatencyP99"]["expr"].rstrip().endswith("> 0.5")
    assert not render().of("PrometheusRule")


def test_the_dashboard_is_shipped_and_queries_metrics_that_exist(render):
    out = render({"grafanaDashboard": {"enabled": True}})
    config = out.get("ConfigMap", "assay-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config["data"]["assay.json"])
    assert dashboard == json.loads((CHART / "dashboards" / "assay.json").read_text())
    known = _metric_names()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 6
    for expr in exprs:
        assert _used_metrics(expr) and _used_metrics(expr) <= known and _balanced(expr), expr
