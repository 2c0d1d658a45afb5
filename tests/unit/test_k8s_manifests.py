"""Contract tests for the Kubernetes manifests in deploy/k8s/, offline.

The base and the local overlay are rendered by the small renderer in
tests/support/kustomize.py (no kustomize binary), every object is validated strictly against
the Kubernetes JSON schemas shipped by the ``kubernetes-validate`` package (no network: a
guard makes any connection attempt fail), then checked for the promises docs/operations.md
makes: probes, ports, non-root, resources, autoscalers, disruption budgets, the migration
Job, Services, configuration. A deliberately broken object must be rejected, which proves
the validation bites.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.kustomize import (
    UnsupportedKustomization,
    find,
    load_documents,
    render,
    split_image,
)

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
BASE = K8S_DIR / "base"
LOCAL = K8S_DIR / "overlays" / "local"

# The oldest minor still supported upstream when this was written, and the newest minor the
# pinned kubernetes-validate ships (kubernetes_validate.utils.all_versions()).
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")

HTTP_PORTS = {"api": 8000, "ingest": 8001, "projector": 8002, "webhooks": 8003}
COMMANDS = {
    "ingest": ["python", "-m", "services.ingest"],
    "api": ["python", "-m", "services.api"],
    "projector": ["python", "-m", "services.projector"],
    "webhooks": ["python", "-m", "services.webhooks"],
}
MIGRATE_COMMAND = ["python", "-m", "services.projector", "migrate"]
SERVED = ("ingest", "api")  # the services with a Service and an autoscaler
CONFIG_MAP = "parley-config"
SECRET = "parley-database"
# The number of partitions bounds the useful replicas of each consumer group.
CONSUMERS = ("projector", "webhooks")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must work offline: any attempt to connect fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(params=["base", "local"], scope="module")
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(BASE if request.param == "base" else LOCAL)


def of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return resource["spec"]["template"]["spec"]["containers"]


def pod_labels(resource: dict[str, Any]) -> dict[str, str]:
    return resource["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def env_value(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


def component(resource: dict[str, Any]) -> str:
    return resource["metadata"]["labels"]["app.kubernetes.io/component"]


def every_container(resources: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for resource in resources:
        if resource["kind"] in {"Deployment", "Job"}:
            for container in containers(resource):
                yield f"{resource['kind']}/{resource['metadata']['name']}", container


# --- schema validation -------------------------------------------------------------------


def test_the_pinned_schemas_include_the_versions_validated_against() -> None:
    shipped = set(kubernetes_validate.utils.all_versions())
    assert set(KUBERNETES_VERSIONS) <= shipped


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("directory", [BASE, LOCAL], ids=["base", "local"])
def test_every_rendered_object_is_valid_kubernetes(directory: Path, version: str) -> None:
    resources = render(directory)
    assert resources
    for resource in resources:
        kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "replicas"), "two"),  # wrong type
        (("spec", "template", "spec", "replicaCount"), 2),  # unknown field, strict only
        (("spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "pth"), "/"),
    ],
    ids=["replicas-as-string", "unknown-pod-field", "misspelt-probe-field"],
)
def test_a_broken_manifest_is_rejected(path: tuple[Any, ...], value: Any) -> None:
    deployment = copy.deepcopy(find(render(LOCAL), "Deployment", "parley-ingest"))
    kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    target: Any = deployment
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_a_missing_required_field_is_rejected() -> None:
    service = copy.deepcopy(find(render(LOCAL), "Service", "parley-api"))
    del service["spec"]["ports"][0]["port"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSIONS[-1], strict=True)


# --- workloads -----------------------------------------------------------------------------


def test_one_deployment_per_service_running_its_command(manifests: list[dict[str, Any]]) -> None:
    deployments = {component(d): d for d in of_kind(manifests, "Deployment")}
    assert set(deployments) == set(COMMANDS)
    for name, deployment in deployments.items():
        assert deployment["metadata"]["name"] == f"parley-{name}"
        (container,) = containers(deployment)
        assert container["command"] == COMMANDS[name]
        assert split_image(container["image"])[0] == "parley"


def test_probes_hit_health_endpoints_on_the_service_port(manifests: list[dict[str, Any]]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        name = component(deployment)
        (container,) = containers(deployment)
        assert env_value(container, "PARLEY_HTTP_PORT") == str(HTTP_PORTS[name])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert HTTP_PORTS[name] in ports.values()
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            http_get = container[probe]["httpGet"]
            assert http_get["path"] == path, (name, probe)
            port = http_get["port"]
            assert ports.get(port, port) == HTTP_PORTS[name], (name, probe)


def test_pods_run_as_non_root_read_only_without_capabilities(
    manifests: list[dict[str, Any]],
) -> None:
    workloads = [*of_kind(manifests, "Deployment"), *of_kind(manifests, "Job")]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]


def test_every_container_has_requests_and_limits(manifests: list[dict[str, Any]]) -> None:
    for where, container in every_container(manifests):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound]), (where, bound)


def test_every_container_reads_the_config_map_and_the_secret(
    manifests: list[dict[str, Any]],
) -> None:
    for where, container in every_container(manifests):
        sources = container["envFrom"]
        assert {"configMapRef": {"name": CONFIG_MAP}} in sources, where
        assert {"secretRef": {"name": SECRET}} in sources, where


def test_the_config_map_carries_the_shared_settings(manifests: list[dict[str, Any]]) -> None:
    data = find(manifests, "ConfigMap", CONFIG_MAP)["data"]
    assert {
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS",
        "PARLEY_TOPIC",
        "PARLEY_TOPIC_PARTITIONS",
        "PARLEY_TOPIC_REPLICATION_FACTOR",
        "PARLEY_HTTP_HOST",
    } <= set(data)
    assert data["PARLEY_HTTP_HOST"] == "0.0.0.0"
    assert "PARLEY_DATABASE_URL" not in data  # that one is secret
    assert all(isinstance(value, str) for value in data.values())


def test_the_base_ships_three_topic_replicas_and_no_secret() -> None:
    base = render(BASE)
    assert find(base, "ConfigMap", CONFIG_MAP)["data"]["PARLEY_TOPIC_REPLICATION_FACTOR"] == "3"
    assert of_kind(base, "Secret") == []


def test_consumers_never_outnumber_the_partitions(manifests: list[dict[str, Any]]) -> None:
    partitions = int(find(manifests, "ConfigMap", CONFIG_MAP)["data"]["PARLEY_TOPIC_PARTITIONS"])
    for name in CONSUMERS:
        deployment = find(manifests, "Deployment", f"parley-{name}")
        assert 1 <= deployment["spec"]["replicas"] <= partitions, name
    autoscaled = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(manifests, "HorizontalPodAutoscaler")
    }
    assert not autoscaled & {f"parley-{name}" for name in CONSUMERS}


def test_grace_period_covers_a_graceful_shutdown(manifests: list[dict[str, Any]]) -> None:
    # uvicorn drains for up to 30 s after a 5 s preStop; the projector waits up to 30 s for its
    # batch; the webhook worker 30 s for its batch, then PARLEY_WEBHOOK_TIMEOUT_S + 5 (15 s).
    minimum = {"ingest": 45, "api": 45, "projector": 45, "webhooks": 60}
    for deployment in of_kind(manifests, "Deployment"):
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= minimum[component(deployment)], component(deployment)


def test_autoscalers_scale_ingest_and_api_on_cpu(manifests: list[dict[str, Any]]) -> None:
    autoscalers = of_kind(manifests, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in autoscalers}
    assert set(targets) == {f"parley-{name}" for name in SERVED}
    for name, autoscaler in targets.items():
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        find(manifests, "Deployment", name)
        (metric,) = autoscaler["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        # The Deployment leaves its replica count to the autoscaler.
        assert "replicas" not in find(manifests, "Deployment", name)["spec"]


def test_disruption_budgets_select_existing_deployments(manifests: list[dict[str, Any]]) -> None:
    deployments = of_kind(manifests, "Deployment")
    covered = set()
    for budget in of_kind(manifests, "PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [d["metadata"]["name"] for d in deployments if selects(selector, pod_labels(d))]
        assert len(matched) == 1, (budget["metadata"]["name"], matched)
        covered.update(matched)
    assert covered == {d["metadata"]["name"] for d in deployments}


def test_services_select_their_pods_and_target_the_http_port(
    manifests: list[dict[str, Any]],
) -> None:
    services = {s["metadata"]["name"]: s for s in of_kind(manifests, "Service")}
    assert set(services) == {f"parley-{name}" for name in SERVED}
    deployments = of_kind(manifests, "Deployment")
    for name in SERVED:
        service = services[f"parley-{name}"]
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
        matched = [d for d in deployments if selects(service["spec"]["selector"], pod_labels(d))]
        assert [d["metadata"]["name"] for d in matched] == [f"parley-{name}"]
        (container,) = containers(matched[0])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        (port,) = service["spec"]["ports"]
        assert ports.get(port["targetPort"], port["targetPort"]) == HTTP_PORTS[name]


def test_the_migration_job_runs_the_migrate_command(manifests: list[dict[str, Any]]) -> None:
    (job,) = of_kind(manifests, "Job")
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["ttlSecondsAfterFinished"] > 0
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    (container,) = containers(job)
    assert container["command"] == MIGRATE_COMMAND


def test_one_image_everywhere(manifests: list[dict[str, Any]]) -> None:
    images = {container["image"] for _, container in every_container(manifests)}
    assert len(images) == 1


# --- the local overlay ---------------------------------------------------------------------


def test_local_overlay_runs_one_of_each_from_the_local_image() -> None:
    local = render(LOCAL)
    assert {container["image"] for _, container in every_container(local)} == {"parley:local"}
    assert all(r["metadata"]["namespace"] == "parley" for r in local if r["kind"] != "Namespace")
    for name in CONSUMERS:
        assert find(local, "Deployment", f"parley-{name}")["spec"]["replicas"] == 1
    for name in SERVED:
        assert find(local, "HorizontalPodAutoscaler", f"parley-{name}")["spec"]["minReplicas"] == 1
    data = find(local, "ConfigMap", CONFIG_MAP)["data"]
    assert data["PARLEY_TOPIC_REPLICATION_FACTOR"] == "1"
    assert data["PARLEY_TOPIC"] == "parley.events"  # the patch merged, did not replace
    secret = find(local, "Secret", SECRET)
    assert secret["stringData"]["PARLEY_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_the_objects_the_job_needs_are_labelled_for_the_first_apply() -> None:
    # docs/operations.md: apply -l 'app.kubernetes.io/component in (config,migrate)' first.
    local = render(LOCAL)
    first = {
        (r["kind"], r["metadata"]["name"])
        for r in local
        if r["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in {"config", "migrate"}
    }
    assert {
        ("Namespace", "parley"),
        ("ServiceAccount", "parley"),
        ("ConfigMap", CONFIG_MAP),
        ("Secret", SECRET),
        ("Job", "parley-migrate"),
    } <= first
    assert not any(kind == "Deployment" for kind, _ in first)


def test_examples_are_yaml_but_not_part_of_any_kustomization() -> None:
    examples = sorted((K8S_DIR / "examples").glob("*.yaml"))
    assert examples
    kinds = {doc["kind"] for path in examples for doc in load_documents(path)}
    assert "KafkaTopic" in kinds
    listed = [
        entry
        for directory in (BASE, LOCAL)
        for entry in yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    ]
    assert not any("examples" in entry for entry in listed)


# --- the renderer itself -------------------------------------------------------------------


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(UnsupportedKustomization, match="namePrefix"):
        render(tmp_path)


def test_renderer_refuses_a_patch_that_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [cm.yaml]\n"
        "patches:\n  - patch: |\n      kind: ConfigMap\n      metadata:\n        name: b\n"
    )
    with pytest.raises(UnsupportedKustomization, match="matches no object"):
        render(tmp_path)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("parley", ("parley", None, None)),
        ("parley:0.1.0", ("parley", "0.1.0", None)),
        ("registry:5000/team/parley", ("registry:5000/team/parley", None, None)),
        ("registry:5000/parley:1@sha256:ab", ("registry:5000/parley", "1", "sha256:ab")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_image(image) == expected
