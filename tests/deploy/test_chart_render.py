"""The chart, rendered with Helm: workloads, configuration, hooks and the options."""
from __future__ import annotations

import pytest

from assay_shared.config import parse_database_url

from .conftest import INSTALL_VALUES, PEM, PROCESSES_OF, REQUIRED_ENV, SERVICES, containers, env_of, generate


def test_every_service_runs_web_worker_celery_and_beat_and_webhooks_its_delivery_loop(installed):
    # given the chart with an install's values / when rendered
    deployments = installed.names("Deployment")
    # then each service has exactly its process Deployments
    assert deployments == {f"assay-{s}-{p}" for s in SERVICES for p in PROCESSES_OF[s]}
    for svc in SERVICES:
        assert installed.get("Deployment", f"assay-{svc}-web")["spec"]["replicas"] == 2
        if "beat" not in PROCESSES_OF[svc]:
            continue
        beat = installed.get("Deployment", f"assay-{svc}-beat")
        assert beat["spec"]["replicas"] == 1
        assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert installed.get("Deployment", "assay-webhooks-deliver")["spec"]["replicas"] == 1


@pytest.mark.parametrize("svc", SERVICES)
def test_process_commands(installed, svc):
    def main(proc):
        return installed.get("Deployment", f"assay-{svc}-{proc}")["spec"]["template"]["spec"]["containers"][0]

    # uvicorn's workers share one Prometheus multiprocess directory, emptied when the container starts
    assert main("web")["command"] + main("web")["args"] == [
        "sh", "-c", 'rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && exec uvicorn '
        f'assay_{svc}.asgi:application --host 0.0.0.0 --port 8000 --workers "$WEB_CONCURRENCY"']
    assert env_of(main("web"))["PROMETHEUS_MULTIPROC_DIR"] == {"name": "PROMETHEUS_MULTIPROC_DIR",
                                                               "value": "/tmp/prometheus"}
    assert "PROMETHEUS_MULTIPROC_DIR" not in env_of(main("worker"))
    assert main("worker")["command"] == ["python", "-m", "django", "assay_worker"]
    if svc == "webhooks":
        assert main("deliver")["command"] == [
            "python", "-m", "django", "deliver_webhooks", "--heartbeat", "/tmp/deliver.alive"]
        assert "deliver.alive" in main("deliver")["livenessProbe"]["exec"]["command"][2]
        return
    # the Celery pool's processes share a multiprocess directory too; the main process serves their sums
    assert main("celery")["command"] + main("celery")["args"] == [
        "sh", "-c", 'rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && exec celery '
        f'-A assay_{svc}.celery worker --concurrency 2 -Q "$ASSAY_BUS_PREFIX.{svc}.celery"']
    assert env_of(main("celery"))["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/tmp/prometheus"
    assert main("beat")["command"] + main("beat")["args"] == [
        "celery", "-A", f"assay_{svc}.celery", "beat", "--schedule", "/tmp/celerybeat-schedule"]


def test_every_container_is_locked_down_and_sized(installed):
    pods = [o["spec"]["template"] for o in installed.of("Deployment") + installed.of("Job")]
    assert len(pods) == 24  # 4 processes of 4 services, 3 of webhooks, 5 migration Jobs
    for pod in pods:
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["automountServiceAccountToken"] is False
        assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
        for c in containers(spec):
            where = f"{pod['metadata']['labels']['assay/service']}/{c['name']}"
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}, where
            assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], where
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], where
            assert c["resources"]["limits"]["memory"], where
            assert c["image"] == "registry.example.com/assay:1.2.3", where


def test_probes(installed):
    for dep in installed.of("Deployment"):
        proc = dep["metadata"]["labels"]["assay/process"]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert "livenessProbe" in c and "startupProbe" in c, dep["metadata"]["name"]
        if proc == "web":
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
        elif proc == "worker":
            assert c["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
            assert c["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
            assert env_of(c)["METRICS_PORT"]["value"] == "9100"
        elif proc == "celery":
            assert "inspect ping" in c["livenessProbe"]["exec"]["command"][2]
            assert c["ports"] == [{"name": "metrics", "containerPort": 9101, "protocol": "TCP"}]
            assert env_of(c)["METRICS_PORT"]["value"] == "9101"
        else:
            assert c["livenessProbe"]["exec"]["command"][0] == "sh"


def test_every_process_gets_the_whole_environment(installed):
    for dep in installed.of("Deployment"):
        svc = dep["metadata"]["labels"]["assay/service"]
        env = env_of(dep["spec"]["template"]["spec"]["containers"][0])
        assert set(REQUIRED_ENV) <= set(env), dep["metadata"]["name"]
        assert env["DJANGO_SETTINGS_MODULE"]["value"] == f"assay_{svc}.settings"
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "assay-runtime", "key": f"{svc.upper()}_DATABASE_URL"}
        for key in ("BROKER_URL", "REDIS_URL", "DJANGO_SECRET_KEY"):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "assay-runtime", "key": key}
        assert env["JWT_PUBLIC_KEYS"]["valueFrom"]["configMapKeyRef"] == {"name": "assay-jwt", "key": "JWT_PUBLIC_KEYS"}
        assert env["ASSAY_BUS_PREFIX"]["value"] == "assay"
        assert env["DB_APP_ROLE"]["value"] == "assay_app"
        assert len(env) == len(dep["spec"]["template"]["spec"]["containers"][0]["env"]), "duplicate env names"


def test_references_resolve_to_rendered_objects_with_those_keys(installed):
    # given the chart-managed Secret and ConfigMap
    runtime = installed.get("Secret", "assay-runtime")["stringData"]
    jwt = installed.get("ConfigMap", "assay-jwt")["data"]
    # then every key a Deployment reads exists in them
    for dep in installed.of("Deployment"):
        for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]:
            ref = e.get("valueFrom", {})
            if "secretKeyRef" in ref:
                assert ref["secretKeyRef"]["key"] in runtime
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"]["key"] in jwt
    assert jwt["JWT_PUBLIC_KEYS"] == '{"k2025":' + __import__("json").dumps(PEM) + "}"


def test_database_urls_carry_the_password_exactly(installed):
    # given a password with a space, a slash and a plus
    runtime = installed.get("Secret", "assay-runtime")["stringData"]
    migration = installed.get("Secret", "assay-migration")["stringData"]
    # when the services parse the URLs the chart composed
    app = parse_database_url("DATABASE_URL", runtime["SCORING_DATABASE_URL"])
    owner = parse_database_url("DATABASE_URL", migration["SCORING_MIGRATION_DATABASE_URL"])
    # then they get the passwords back unchanged
    assert (app["USER"], app["PASSWORD"], app["HOST"], app["PORT"], app["NAME"]) == (
        "assay_app", "app pw/1+2", "pg.db.svc", "5432", "assay_scoring")
    assert (owner["USER"], owner["PASSWORD"], owner["NAME"]) == ("postgres", "adm:pw@", "assay_scoring")
    assert migration["DB_APP_PASSWORD"] == "app pw/1+2"


def test_migration_hooks_run_before_everything_and_use_only_hook_objects(installed):
    secret = installed.get("Secret", "assay-migration")
    assert secret["metadata"]["annotations"] == {
        "helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-10",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}
    hook_objects = {"assay-migration"}
    jobs = installed.of("Job")
    assert {j["metadata"]["name"] for j in jobs} == {f"assay-{s}-migrate" for s in SERVICES}
    for job in jobs:
        svc = job["metadata"]["labels"]["assay/service"]
        notes = job["metadata"]["annotations"]
        assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(notes["helm.sh/hook-weight"]) > int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] == "Never"
        (boot,) = spec["initContainers"]
        (migrate,) = spec["containers"]
        assert boot["command"] + boot["args"] == [
            "assay", "db", "bootstrap", "--admin-url", "$(ADMIN_DATABASE_URL)",
            "--database", f"assay_{svc}", "--app-role", "$(DB_APP_ROLE)"]
        assert migrate["command"] == ["python", "-m", "django", "migrate", "--noinput"]
        env = env_of(migrate)
        assert set(REQUIRED_ENV) <= set(env)
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "assay-migration", "key": f"{svc.upper()}_MIGRATION_DATABASE_URL"}
        # a hook runs before the release's ordinary objects exist: it may read only hook objects
        for c in (boot, migrate):
            for e in c["env"]:
                ref = e.get("valueFrom", {})
                for kind in ("secretKeyRef", "configMapKeyRef"):
                    if kind in ref:
                        assert ref[kind]["name"] in hook_objects, (svc, c["name"], e["name"])
                        assert ref[kind]["key"] in secret["stringData"]


def test_services_pdbs_and_hpas_select_their_pods(render):
    # given autoscaling for the scoring web pods only
    out = render({"services": {"scoring": {"web": {"autoscaling": {"enabled": True, "maxReplicas": 5}}}}})
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in out.of("Deployment")}

    def matches(selector):
        return sorted(n for n, labels in pods.items() if selector.items() <= labels.items())

    for svc in SERVICES:
        assert matches(out.get("Service", f"assay-{svc}")["spec"]["selector"]) == [f"assay-{svc}-web"]
        assert matches(out.get("Service", f"assay-{svc}-worker-metrics")["spec"]["selector"]) == [f"assay-{svc}-worker"]
        for proc in ("web", "worker"):
            pdb = out.get("PodDisruptionBudget", f"assay-{svc}-{proc}")
            assert matches(pdb["spec"]["selector"]["matchLabels"]) == [f"assay-{svc}-{proc}"]
            assert pdb["spec"]["maxUnavailable"] == 1
    for dep in out.of("Deployment"):
        assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    (hpa,) = out.of("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "assay-scoring-web"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    # the HPA owns the replica count; the other web Deployments keep theirs
    assert "replicas" not in out.get("Deployment", "assay-scoring-web")["spec"]
    assert out.get("Deployment", "assay-review-web")["spec"]["replicas"] == 2


def test_per_service_overrides_including_false_and_zero(render):
    # when one service turns beat off, disables a PDB and adds an env var; another is disabled
    out = render({"shared": {"extraEnv": {"FORWARDED_ALLOW_IPS": "*"}},
                  "services": {"review": {"beat": {"enabled": False}, "worker": {"pdb": {"minAvailable": "50%"}},
                                          "web": {"pdb": {"enabled": False},
                               "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}},
                               "env": {"LOG_LEVEL": "DEBUG"}},
                               "webhooks": {"enabled": False}}})
    names = out.names("Deployment")
    assert "assay-review-beat" not in names and "assay-review-celery" in names
    assert not any(n.startswith("assay-webhooks") for n in names | out.names("Job") | out.names("Service"))
    assert "WEBHOOKS_DATABASE_URL" not in out.get("Secret", "assay-runtime")["stringData"]
    assert "assay-review-web" not in out.names("PodDisruptionBudget")
    assert out.get("PodDisruptionBudget", "assay-review-worker")["spec"] == {
        "minAvailable": "50%", "selector": out.get("PodDisruptionBudget", "assay-review-worker")["spec"]["selector"]}
    web = out.get("Deployment", "assay-review-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    assert env_of(web)["LOG_LEVEL"]["value"] == "DEBUG"
    assert env_of(web)["FORWARDED_ALLOW_IPS"]["value"] == "*"
    other = out.get("Deployment", "assay-scoring-web")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(other)["LOG_LEVEL"]["value"] == "INFO"


def test_existing_secrets_replace_chart_managed_ones(render):
    out = render({"shared": {"existingSecret": "my-runtime", "existingMigrationSecret": "my-migration",
                             "jwt": {"existingSecret": "my-jwt", "key": "keys.json"}}})
    assert out.of("Secret") == [] and out.of("ConfigMap") == []
    job = out.get("Job", "assay-review-migrate")["spec"]["template"]["spec"]
    env = env_of(job["containers"][0])
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "my-migration", "key": "REVIEW_MIGRATION_DATABASE_URL"}
    assert env["BROKER_URL"]["valueFrom"]["secretKeyRef"]["name"] == "my-runtime"
    assert env["JWT_PUBLIC_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "my-jwt", "key": "keys.json"}
    assert env_of(job["initContainers"][0])["ADMIN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "my-migration"


def test_job_mode_makes_plain_jobs_and_pods_wait_for_migrations(render):
    out = render({"migrations": {"mode": "job"}})
    for job in out.of("Job"):
        assert "annotations" not in job["metadata"]
        assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert "annotations" not in out.get("Secret", "assay-migration")["metadata"]
    for dep in out.of("Deployment"):
        (wait,) = dep["spec"]["template"]["spec"]["initContainers"]
        assert wait["name"] == "wait-for-migrations"
        assert "migrate --check" in wait["command"][2]


def test_ingress_host_and_path_modes(render):
    host = render({"ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "assay-tls"}]}})
    (ing,) = host.of("Ingress")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert [r["host"] for r in ing["spec"]["rules"]] == [f"{s}.assay.example.com" for s in SERVICES]
    assert ing["spec"]["tls"] == [{"secretName": "assay-tls", "hosts": [f"{s}.assay.example.com" for s in SERVICES]}]
    path = render({"ingress": {"enabled": True, "mode": "path", "host": "qa.example.org"}})
    (rule,) = path.of("Ingress")[0]["spec"]["rules"]
    assert rule["host"] == "qa.example.org"
    assert [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]] == [
        (f"/{s}/", f"assay-{s}") for s in SERVICES]


def test_service_monitor_and_network_policies(render):
    out = render({"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
                  "networkPolicy": {"enabled": True, "webFrom": [{"namespaceSelector": {"matchLabels": {"team": "edge"}}}]}})
    (sm,) = out.of("ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert [(e["port"], e["path"]) for e in sm["spec"]["endpoints"]] == [("http", "/metrics"), ("metrics", "/metrics")]
    scraped = [s for s in out.of("Service") if sm["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
    # web and worker of five services, Celery of four (webhooks delivers with its own loop)
    assert len(scraped) == 14
    assert {s["metadata"]["name"] for s in scraped if s["metadata"]["name"].endswith("-celery-metrics")} == {
        f"assay-{svc}-celery-metrics" for svc in ("assignment", "scoring", "review", "metrics")}
    policies = {p["metadata"]["name"]: p["spec"] for p in out.of("NetworkPolicy")}
    own = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "assay", "app.kubernetes.io/instance": "assay"}}}
    assert policies["assay-web"]["ingress"] == [{"ports": [{"port": 8000, "protocol": "TCP"}],
                                                 "from": [{"namespaceSelector": {"matchLabels": {"team": "edge"}}}, own]}]
    assert policies["assay-no-ingress"]["ingress"] == []
    assert policies["assay-no-ingress"]["podSelector"]["matchExpressions"][0]["values"] == ["beat", "deliver", "migrate"]
    assert policies["assay-worker"]["podSelector"]["matchExpressions"][0]["values"] == ["worker", "celery"]


def test_release_name_prefixes_everything(render):
    out = render(release="tenant-group-a")
    assert "tenant-group-a-assay-scoring-web" in out.names("Deployment")
    assert out.get("Service", "tenant-group-a-assay-scoring")["spec"]["selector"]["app.kubernetes.io/instance"] == "tenant-group-a"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"shared": {"brokerUrl": ""}}, "shared.brokerUrl is required"),
    ({"shared": {"postgres": {"appPassword": ""}}}, "shared.postgres.appPassword is required"),
    ({"shared": {"jwt": {"publicKeys": None}}}, "shared.jwt.publicKeys: give at least one"),
    ({"shared": {"jwt": {"publicKeys": {"k1": "not a key"}}}}, "shared.jwt.publicKeys.k1: is not a PEM public key"),
    ({"services": {"review": {"deliver": {"enabled": True}}}},
     "services.review.deliver.enabled: only the webhooks service has a delivery loop"),
    ({"services": {"scoring": {"worker": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}}},
     "services.scoring.worker.autoscaling: minReplicas (5) exceeds maxReplicas (2)"),
])
def test_bad_values_are_refused_naming_the_value(render, overrides, message):
    with pytest.raises(generate.ChartRenderError) as refused:
        render(overrides)
    assert message in str(refused.value)


def test_k8s_base_is_the_chart_rendered_with_its_values():
    # given the chart and k8s/chart-values.yaml / when rendered as k8s/generate.py does
    if not generate.helm_available():
        pytest.skip("Helm is not available: run `uv run --with helm-python-sdk==0.2.2 pytest tests/deploy`")
    files = generate.base_files(generate.chart_render(values_file=generate.VALUES))
    # then k8s/base holds exactly that (run k8s/generate.py after changing the chart)
    on_disk = {p.name: p.read_text() for p in generate.BASE.glob("*.yaml")}
    assert sorted(on_disk) == sorted(files)
    for name in files:
        assert on_disk[name] == files[name], f"k8s/base/{name} is stale: run k8s/generate.py"


def test_install_values_are_complete():
    assert set(INSTALL_VALUES["shared"]) >= {"postgres", "brokerUrl", "redisUrl", "djangoSecretKey", "jwt"}


def test_keda_scales_a_service_worker_on_its_queue_length(render):
    # given KEDA for the scoring worker
    out = render({"services": {"scoring": {"worker": {"keda": {"enabled": True, "maxReplicas": 6,
                                                               "queueLength": 200}}}}})
    # then one ScaledObject targets the scoring worker Deployment and reads its queue's length on RabbitMQ
    (scaled,) = out.of("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["name"] == "assay-scoring-worker"
    assert scaled["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": "assay-scoring-worker"}
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (1, 6)
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"] == {"protocol": "amqp", "mode": "QueueLength", "queueName": "assay.scoring",
                                   "value": "200"}
    # and KEDA takes the broker URL from the Secret the processes read it from
    (auth,) = out.of("TriggerAuthentication")
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "host", "name": "assay-runtime", "key": "BROKER_URL"}]
    assert "BROKER_URL" in out.get("Secret", "assay-runtime")["stringData"]
    # the ScaledObject owns the scoring worker's replica count; other workers keep theirs
    assert "replicas" not in out.get("Deployment", "assay-scoring-worker")["spec"]
    assert out.get("Deployment", "assay-review-worker")["spec"]["replicas"] == 1
    assert not render().of("ScaledObject") and not render().of("TriggerAuthentication")


@pytest.mark.parametrize("worker, reason", [
    ({"keda": {"enabled": True}, "autoscaling": {"enabled": True}}, "keda and autoscaling cannot both be enabled"),
    ({"keda": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}, "minReplicas (5) exceeds maxReplicas (2)"),
])
def test_keda_settings_that_cannot_work_are_refused(render, worker, reason):
    with pytest.raises(Exception) as caught:
        render({"services": {"review": {"worker": worker}}})
    assert reason in str(caught.value)
