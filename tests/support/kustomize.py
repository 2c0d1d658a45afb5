"""A tiny, offline stand-in for ``kustomize build``, enough for ``deploy/k8s/``.

The tests render the kustomizations without the kustomize binary (and without network), then
validate every object against the Kubernetes schemas. Supported, in the order kustomize
applies them:

- ``resources``: YAML files (several documents each) and directories holding a kustomization;
- ``patches``: strategic-merge patches only, from ``path`` or an inline ``patch``, each
  document matched to one object by ``kind`` and ``metadata.name``. The merge is a plain deep
  merge: mappings merge, ``null`` deletes a key, lists of mappings that all carry a ``name``
  merge item by item on that name (containers, env, volumes, ports), any other list is
  replaced. No ``target``, no JSON 6902, no ``$patch`` directives: they raise;
- ``namespace``: set on every namespaced object;
- ``labels`` (``pairs``, ``includeSelectors``, ``includeTemplates``) and ``commonLabels``
  (which is ``includeSelectors: true`` and ``includeTemplates: true``);
- ``replicas`` (``name``, ``count``) for Deployments and StatefulSets;
- ``images`` (``name``, ``newName``, ``newTag``, ``digest``) on containers and init
  containers of pod templates.

Any other field of a kustomization raises :class:`UnsupportedKustomization` rather than being
silently ignored, so the manifests cannot drift beyond what the tests really check. Name
prefixes, generators (and their hash suffixes) and the name-reference rewriting they need
are not implemented.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "patches",
        "namespace",
        "labels",
        "commonLabels",
        "replicas",
        "images",
    }
)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
    }
)
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
TEMPLATED_KINDS = WORKLOAD_KINDS | {"Job"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document of ``path``."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def render(directory: Path) -> list[Resource]:
    """The objects ``kustomize build directory`` would print (for the supported subset)."""
    kustomization = _load_kustomization(directory)
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources.extend(render(path))
        elif path.is_file():
            resources.extend(load_documents(path))
        else:
            raise UnsupportedKustomization(f"{directory}: resource {entry!r} not found")
    _check_unique(resources, directory)

    for patch in kustomization.get("patches", []):
        for document in _patch_documents(patch, directory):
            _apply_patch(resources, document, directory)
    if "namespace" in kustomization:
        _set_namespace(resources, kustomization["namespace"])
    if "commonLabels" in kustomization:
        _add_labels(resources, kustomization["commonLabels"], selectors=True, templates=True)
    for entry in kustomization.get("labels", []):
        _add_labels(
            resources,
            entry["pairs"],
            selectors=entry.get("includeSelectors", False),
            templates=entry.get("includeTemplates", False),
        )
    for entry in kustomization.get("replicas", []):
        _set_replicas(resources, entry["name"], entry["count"], directory)
    for entry in kustomization.get("images", []):
        _override_image(resources, entry)
    return resources


def find(resources: Iterable[Resource], kind: str, name: str) -> Resource:
    """The one object of ``kind`` called ``name``."""
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} objects {kind}/{name}")
    return found[0]


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``(name, tag, digest)`` of an image reference; a registry port is not a tag."""
    name, _, digest = image.partition("@")
    tag = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def _load_kustomization(directory: Path) -> dict[str, Any]:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise UnsupportedKustomization(f"{directory}: no kustomization.yaml")
    documents = load_documents(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise UnsupportedKustomization(f"{path}: expected one mapping")
    kustomization = documents[0]
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise UnsupportedKustomization(f"{path}: unsupported fields {sorted(unsupported)}")
    return kustomization


def _identity(resource: Resource) -> tuple[str, str | None, str]:
    metadata = resource.get("metadata", {})
    return resource["kind"], metadata.get("namespace"), metadata["name"]


def _check_unique(resources: list[Resource], directory: Path) -> None:
    seen: set[tuple[str, str | None, str]] = set()
    for resource in resources:
        identity = _identity(resource)
        if identity in seen:
            raise UnsupportedKustomization(f"{directory}: duplicate object {identity}")
        seen.add(identity)


def _patch_documents(patch: dict[str, Any], directory: Path) -> list[Resource]:
    if set(patch) - {"path", "patch"} or len(patch) != 1:
        raise UnsupportedKustomization(f"{directory}: only `path` or `patch` patches: {patch}")
    if "path" in patch:
        return load_documents(directory / patch["path"])
    return [doc for doc in yaml.safe_load_all(patch["patch"]) if doc is not None]


def _apply_patch(resources: list[Resource], patch: Resource, directory: Path) -> None:
    try:
        target = find(resources, patch["kind"], patch["metadata"]["name"])
    except LookupError as error:
        raise UnsupportedKustomization(f"{directory}: patch matches no object: {error}") from None
    merged = _merge(target, patch)
    target.clear()
    target.update(merged)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        result = copy.deepcopy(base)
        for key, value in patch.items():
            if isinstance(key, str) and key.startswith("$"):
                raise UnsupportedKustomization(f"patch directive {key} is not supported")
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = _merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
        return result
    if _named_list(base) and _named_list(patch):
        result = [copy.deepcopy(item) for item in base]
        for item in patch:
            index = next((i for i, old in enumerate(result) if old["name"] == item["name"]), None)
            if index is None:
                result.append(copy.deepcopy(item))
            else:
                result[index] = _merge(result[index], item)
        return result
    return copy.deepcopy(patch)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and "name" in item for item in value
    )


def _set_namespace(resources: list[Resource], namespace: str) -> None:
    for resource in resources:
        if resource["kind"] not in CLUSTER_SCOPED_KINDS:
            resource["metadata"]["namespace"] = namespace


def _add_labels(
    resources: list[Resource], pairs: dict[str, str], *, selectors: bool, templates: bool
) -> None:
    for resource in resources:
        resource["metadata"].setdefault("labels", {}).update(pairs)
        kind, spec = resource["kind"], resource.get("spec", {})
        if selectors:
            if kind in WORKLOAD_KINDS or kind == "PodDisruptionBudget":
                spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
            elif kind == "Service":
                spec.setdefault("selector", {}).update(pairs)
        if (selectors or templates) and kind in TEMPLATED_KINDS:
            template_metadata = spec.setdefault("template", {}).setdefault("metadata", {})
            template_metadata.setdefault("labels", {}).update(pairs)


def _set_replicas(resources: list[Resource], name: str, count: int, directory: Path) -> None:
    matches = [
        r
        for r in resources
        if r["kind"] in {"Deployment", "StatefulSet"} and r["metadata"]["name"] == name
    ]
    if not matches:
        raise UnsupportedKustomization(f"{directory}: replicas for unknown workload {name!r}")
    for resource in matches:
        resource["spec"]["replicas"] = count


def _override_image(resources: list[Resource], entry: dict[str, str]) -> None:
    for resource in resources:
        pod = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            name, tag, digest = split_image(container["image"])
            if name != entry["name"]:
                continue
            name = entry.get("newName", name)
            if "digest" in entry:
                container["image"] = f"{name}@{entry['digest']}"
                continue
            tag = entry.get("newTag", tag)
            image = f"{name}:{tag}" if tag else name
            container["image"] = f"{image}@{digest}" if digest and "newTag" not in entry else image
