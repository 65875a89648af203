"""The chart's tenant provisioner Job and tenant registry (ADR 0068): rendered, validated strictly, least privilege."""
from __future__ import annotations

import pytest

from assay_shared.tenants.command import parser_build

from .conftest import SERVICES, generate
from .test_chart_validate import DNS_1123_LABEL, k8s_versions, strict_errors

ADMIN = {"shared": {"existingMigrationSecret": "assay-admin"}}
TENANTS = [{"name": "acme", "mode": "namespace", "cpu": "4", "memory": "8Gi", "pods": 40},
           {"name": "beta", "mode": "shared", "ratePerSecond": 2.5, "rateBurst": 10},
           {"name": "yes", "mode": "shared"}]
ON = {"tenants": {"registry": {"enabled": True}, "provisioner": {"enabled": True, "tenants": TENANTS}}, **ADMIN}
KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Job"}


def provisioner_objects(rendered) -> list[dict]:
    return [o for o in rendered if o["kind"] in KINDS and o["metadata"]["name"].startswith("assay-tenants")]


def test_off_by_default(installed):
    assert provisioner_objects(installed) == []
    for deploy in installed.of("Deployment"):
        env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["RATE_LIMIT_TENANTS"] == {"name": "RATE_LIMIT_TENANTS", "value": "{}"}


def test_the_job_creates_each_tenant_in_order_with_arguments_the_command_accepts(render):
    out = render(ON, release="assay")
    job = out.get("Job", "assay-tenants")
    assert job["metadata"]["annotations"] == {"helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-weight": "5",
                                              "helm.sh/hook-delete-policy": "before-hook-creation"}
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "assay-tenants" and pod["automountServiceAccountToken"] is True
    inits = pod["initContainers"]
    assert [c["name"] for c in inits] == ["create-acme", "create-beta", "create-yes"]
    common = ["--namespace-prefix=assay-", "--ingress-namespace=ingress-nginx", "--registry-namespace=assay-ns",
              "--registry-name=assay-tenants"]
    assert [c["args"] for c in inits] == [
        ["tenant", "create", "acme", "--mode=namespace", "--cpu=4", "--memory=8Gi", "--pods=40", *common],
        ["tenant", "create", "beta", "--mode=shared", "--rate-per-second=2.5", "--rate-burst=10", *common],
        ["tenant", "create", "yes", "--mode=shared", *common]]
    for c in inits:  # the command's own parser takes them
        assert parser_build().parse_args(c["args"]).fn.__name__ == "_create"
    assert inits[0]["env"] == [{"name": "ADMIN_DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": "assay-admin", "key": "ADMIN_DATABASE_URL"}}}]
    assert "env" not in inits[1]
    assert pod["containers"][0]["args"] == ["tenant", "list", "--registry-namespace=assay-ns",
                                            "--registry-name=assay-tenants"]
    for c in [*inits, *pod["containers"]]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["resources"]["limits"]["memory"]


def test_the_service_account_may_manage_only_the_kinds_it_makes_and_delete_nothing(render):
    out = render(ON)
    cluster_role = out.of("ClusterRole")[0]
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "create", "update"]},
        {"apiGroups": [""], "resources": ["resourcequotas", "limitranges", "secrets", "configmaps"],
         "verbs": ["get", "create", "update"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "create", "update"]}]
    binding = out.of("ClusterRoleBinding")[0]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "assay-tenants", "namespace": "assay-ns"}]
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert out.get("Role", "assay-tenants")["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["assay-tenants"], "verbs": ["get", "update"]}]
    # shared mode only: the cluster may only be read (which namespace-mode tenants exist)
    shared_only = render({**ON, "tenants": {"registry": {"enabled": True}, "provisioner": {
        "enabled": True, "tenants": TENANTS[1:]}}})
    assert shared_only.of("ClusterRole")[0]["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]


def test_with_the_registry_every_service_reads_its_rate_limits_from_it(render):
    out = render({"tenants": {"registry": {"enabled": True}}})
    deployments = out.of("Deployment")
    assert {d["metadata"]["labels"]["assay/service"] for d in deployments} == set(SERVICES)
    for deploy in deployments:
        env = [e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
               if e["name"] == "RATE_LIMIT_TENANTS"]
        assert env == [{"name": "RATE_LIMIT_TENANTS", "valueFrom": {"configMapKeyRef": {
            "name": "assay-tenants", "key": "RATE_LIMIT_TENANTS", "optional": True}}}]


def test_job_mode_and_egress_policies(render):
    out = render({**ON, "migrations": {"mode": "job"}, "networkPolicy": {"enabled": True, "egress": {
        "enabled": True}}})
    job = out.get("Job", "assay-tenants")
    assert "annotations" not in job["metadata"] and job["spec"]["ttlSecondsAfterFinished"] == 3600
    api = out.get("NetworkPolicy", "assay-tenants-api")
    assert api["spec"]["podSelector"]["matchLabels"]["assay/process"] == "provision"
    assert api["spec"]["egress"] == [{"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}]


@pytest.mark.parametrize("release", ["assay", "r" * 53, "1st.tenant.example"])
def test_every_render_passes_the_kubernetes_schemas_and_names_fit(render, release):
    out = render({**ON, "networkPolicy": {"enabled": True, "egress": {"enabled": True}}}, release=release)
    mine = provisioner_objects(out) or [o for o in out if o["kind"] in KINDS]
    assert {o["kind"] for o in mine} == KINDS
    for obj in out:
        assert len(obj["metadata"]["name"]) <= 63 and DNS_1123_LABEL.match(obj["metadata"]["name"])
    versions = k8s_versions() if release == "assay" else k8s_versions()[-1:]
    assert strict_errors(out, versions=versions) == []


@pytest.mark.parametrize("overrides, message", [
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "Acme", "mode": "shared"}]}}},
     "tenants/provisioner/tenants/0/name"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme", "mode": "cluster"}]}}},
     "tenants/provisioner/tenants/0/mode"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme", "mode": "shared", "cpu": "lots"}]}}},
     "tenants/provisioner/tenants/0/cpu"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme", "mode": "shared", "pods": 0}]}}},
     "tenants/provisioner/tenants/0/pods"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme"}]}}}, "tenants/provisioner/tenants/0"),
    ({"tenants": {"provisioner": {"enabled": True, "namespacePrefix": "Team_"}}}, "tenants/provisioner/namespacePrefix"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme", "mode": "shared"}]}}},
     "tenants.provisioner.tenants[0].mode: shared needs tenants.registry.enabled"),
    ({"tenants": {"provisioner": {"enabled": True, "tenants": [{"name": "acme", "mode": "namespace"}]}}},
     "tenants.provisioner.adminSecret: namespace-mode tenants need an existing Secret"),
    ({**ON, "tenants": {"registry": {"enabled": True}, "provisioner": {"enabled": True, "tenants": [
        {"name": "acme", "mode": "shared"}, {"name": "acme", "mode": "shared"}]}}},
     'tenants.provisioner.tenants[1].name: "acme" is listed twice'),
    ({"tenants": {"registry": {"enabled": True}}, "shared": {"rateLimit": {"tenants": {"acme": {"per_second": 1}}}}},
     "shared.rateLimit.tenants: must be empty with tenants.registry.enabled"),
])
def test_bad_values_are_refused_naming_them(render, overrides, message):
    with pytest.raises(generate.ChartRenderError) as refused:
        render(overrides)
    text = str(refused.value)
    assert message in text or message.replace("/", ".") in text, text
