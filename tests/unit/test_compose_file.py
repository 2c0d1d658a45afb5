"""Contract tests for the container setup: docker-compose.yml, Dockerfile, .dockerignore.

The compose file is validated against the vendored Compose Specification schema
(tests/contracts/compose-spec.json, see tests/contracts/README.md), then checked
for the promises the rest of the project relies on: one shared image, start-up
ordering through health conditions, health checks on every long-running service,
ports published on loopback only. A deliberately broken copy must be rejected,
which proves the schema validation actually bites.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SCHEMA_FILE = REPO_ROOT / "tests" / "contracts" / "compose-spec.json"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

IMAGE_TAG = "parley:local"
# Services built from the repo's Dockerfile.
APP_SERVICES = ("migrate", "ingest", "projector", "api", "webhooks")
# Services expected to keep running (migrate is a one-shot job).
LONG_RUNNING_SERVICES = ("kafka", "postgres", "ingest", "projector", "api", "webhooks")
HTTP_PORTS = {"api": 8000, "ingest": 8001, "projector": 8002, "webhooks": 8003}
COMMANDS = {
    "migrate": ["python", "-m", "services.projector", "migrate"],
    "ingest": ["python", "-m", "services.ingest"],
    "projector": ["python", "-m", "services.projector"],
    "api": ["python", "-m", "services.api"],
    "webhooks": ["python", "-m", "services.webhooks"],
}
COMMON_ENV = {
    "PARLEY_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "PARLEY_DATABASE_URL": "postgresql+asyncpg://parley:parley@postgres:5432/parley",
    "PARLEY_HTTP_HOST": "0.0.0.0",
}
# service -> {dependency: condition}
EXPECTED_DEPENDS_ON = {
    "migrate": {"postgres": "service_healthy"},
    "ingest": {"kafka": "service_healthy"},
    "projector": {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    },
    "api": {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    },
    "webhooks": {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    },
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _load_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)  # resolves anchors and `<<` merge keys
    assert isinstance(data, dict), "docker-compose.yml must be a YAML mapping"
    return data


def _schema_errors(validator: Draft7Validator, document: Any) -> list[ValidationError]:
    return sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))


def _json_path(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "<root>"


def _format_errors(errors: Iterable[ValidationError]) -> str:
    """One readable line per error; for oneOf/anyOf, the branch errors indented below."""
    lines: list[str] = []
    for error in errors:
        lines.append(f"- {_json_path(error)}: {error.message}")
        for sub in sorted(error.context or (), key=lambda e: list(map(str, e.absolute_path)))[:6]:
            lines.append(f"    * {_json_path(sub)}: {sub.message}")
    return "\n".join(lines)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=VALUE", ...] form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form means service_started
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _build_context(service: dict[str, Any]) -> tuple[str, str]:
    build = service.get("build")
    if isinstance(build, str):
        return build, "Dockerfile"
    assert isinstance(build, dict), f"no build section: {service!r}"
    return build.get("context", "."), build.get("dockerfile", "Dockerfile")


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return command.split()
    return list(command or [])


def _python_modules(argv: list[str]) -> list[str]:
    """Module names run with `python -m MODULE` in an argv list."""
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "-m"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _exec_form(args: str) -> list[str]:
    """Parse an exec-form (JSON array) CMD/ENTRYPOINT; shell form is split on whitespace."""
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list)
        return [str(a) for a in parsed]
    return args.split()


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(schema)


@pytest.fixture
def compose() -> dict[str, Any]:
    # Function-scoped: negative tests mutate their copy.
    return _load_compose()


@pytest.fixture
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


# --------------------------------------------------------------------------
# (a) the vendored schema, and validation of docker-compose.yml against it
# --------------------------------------------------------------------------


@pytest.mark.unit
def test_vendored_schema_is_a_real_draft7_compose_spec(schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(schema)  # raises SchemaError if the schema itself is broken
    assert "draft-07" in schema["$schema"]
    assert schema["title"] == "Compose Specification"
    assert {"services", "volumes", "networks"} <= set(schema["properties"])
    assert {"service", "healthcheck", "list_or_dict"} <= set(schema["definitions"])
    depends_on = schema["definitions"]["service"]["properties"]["depends_on"]
    conditions = depends_on["oneOf"][1]["patternProperties"]["^[a-zA-Z0-9._-]+$"]["properties"][
        "condition"
    ]["enum"]
    assert "service_completed_successfully" in conditions


@pytest.mark.unit
def test_compose_file_is_valid_against_compose_spec(
    validator: Draft7Validator, compose: dict[str, Any]
) -> None:
    errors = _schema_errors(validator, compose)
    assert not errors, "docker-compose.yml violates the Compose Specification:\n" + _format_errors(
        errors
    )


def _misspell_depends_on_condition(doc: dict[str, Any]) -> None:
    doc["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_completed_sucessfully"


def _ports_as_int_mapping(doc: dict[str, Any]) -> None:
    doc["services"]["api"]["ports"] = {8000: 8000}


def _unknown_service_key(doc: dict[str, Any]) -> None:
    doc["services"]["projector"]["healthchek"] = doc["services"]["projector"].pop("healthcheck")


def _healthcheck_interval_as_int(doc: dict[str, Any]) -> None:
    doc["services"]["ingest"]["healthcheck"]["interval"] = 10


def _depends_on_without_condition(doc: dict[str, Any]) -> None:
    doc["services"]["projector"]["depends_on"]["kafka"] = {"required": True}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("breakage", "expected_path"),
    [
        pytest.param(
            _misspell_depends_on_condition, "services/api/depends_on", id="condition-typo"
        ),
        pytest.param(_ports_as_int_mapping, "services/api/ports", id="ports-int-mapping"),
        pytest.param(_unknown_service_key, "services/projector", id="unknown-service-key"),
        pytest.param(
            _healthcheck_interval_as_int,
            "services/ingest/healthcheck/interval",
            id="healthcheck-interval-int",
        ),
        pytest.param(
            _depends_on_without_condition,
            "services/projector/depends_on",
            id="depends-on-no-condition",
        ),
    ],
)
def test_schema_rejects_a_broken_copy(
    validator: Draft7Validator, compose: dict[str, Any], breakage: Any, expected_path: str
) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)
    errors = _schema_errors(validator, broken)
    assert errors, "the schema accepted a deliberately broken compose file"
    paths = [_json_path(e) for e in errors]
    assert expected_path in paths, (
        f"expected an error at {expected_path!r}, got:\n{_format_errors(errors)}"
    )
    # ...and the pristine file is still clean, so the error is the breakage's.
    assert not _schema_errors(validator, compose)


# --------------------------------------------------------------------------
# (b) structural promises
# --------------------------------------------------------------------------


@pytest.mark.unit
def test_expected_services_exist(services: dict[str, Any]) -> None:
    assert set(services) == {
        "kafka",
        "postgres",
        "migrate",
        "ingest",
        "projector",
        "api",
        "webhooks",
    }


@pytest.mark.unit
def test_app_services_share_one_build_and_image(services: dict[str, Any]) -> None:
    builds = {name: _build_context(services[name]) for name in APP_SERVICES}
    images = {name: services[name].get("image") for name in APP_SERVICES}
    assert len(set(builds.values())) == 1, f"app services build differently: {builds}"
    assert set(images.values()) == {IMAGE_TAG}, f"app services use different images: {images}"
    context, dockerfile = next(iter(builds.values()))
    assert (REPO_ROOT / context / dockerfile).resolve() == DOCKERFILE


@pytest.mark.unit
@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_command(services: dict[str, Any], name: str) -> None:
    assert _command(services[name]) == COMMANDS[name]


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(EXPECTED_DEPENDS_ON))
def test_start_up_ordering(services: dict[str, Any], name: str) -> None:
    assert _depends_on(services[name]) == EXPECTED_DEPENDS_ON[name]


@pytest.mark.unit
def test_health_conditions_point_at_services_with_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], (
                    f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert services[dep].get("restart", "no") == "no", (
                    f"{dep} is awaited to complete, so it must not restart"
                )


@pytest.mark.unit
@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_service_has_a_healthcheck(services: dict[str, Any], name: str) -> None:
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)
    test = healthcheck.get("test")
    assert test and test != ["NONE"], f"{name} healthcheck has no test"


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(HTTP_PORTS))
def test_http_service_healthcheck_hits_readyz_with_python(
    services: dict[str, Any], name: str
) -> None:
    test = services[name]["healthcheck"]["test"]
    assert isinstance(test, list) and test[:2] == ["CMD", "python"], (
        f"{name}: healthcheck must exec python (the slim image has no curl): {test}"
    )
    assert f"http://localhost:{HTTP_PORTS[name]}/readyz" in " ".join(test)


@pytest.mark.unit
@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment(services: dict[str, Any], name: str) -> None:
    env = _environment(services[name])
    for key, value in COMMON_ENV.items():
        assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}, expected {value!r}"
    if name in HTTP_PORTS:
        assert env.get("PARLEY_HTTP_PORT") == str(HTTP_PORTS[name])


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(HTTP_PORTS))
def test_http_port_published_on_loopback(services: dict[str, Any], name: str) -> None:
    port = HTTP_PORTS[name]
    assert services[name].get("ports") == [f"127.0.0.1:{port}:{port}"]


@pytest.mark.unit
def test_no_port_is_published_beyond_loopback(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for entry in service.get("ports") or []:
            if isinstance(entry, dict):
                assert entry.get("host_ip") == "127.0.0.1", f"{name}: {entry}"
            else:
                assert str(entry).startswith("127.0.0.1:"), f"{name}: {entry} is not loopback-only"


@pytest.mark.unit
def test_migrate_is_a_one_shot_job(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate.get("restart", "no") == "no"
    assert not migrate.get("ports")


@pytest.mark.unit
def test_kafka_is_single_node_kraft(services: dict[str, Any], compose: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    env = _environment(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in env["KAFKA_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for key, value in env.items():
        if key.endswith("REPLICATION_FACTOR") or key.endswith("MIN_ISR"):
            assert value == "1", f"{key}={value} on a single broker"
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    _assert_named_volume(kafka, compose, env["KAFKA_LOG_DIRS"])


@pytest.mark.unit
def test_postgres(services: dict[str, Any], compose: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    env = _environment(postgres)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == ("parley",) * 3
    assert "pg_isready -U parley" in " ".join(postgres["healthcheck"]["test"])
    _assert_named_volume(postgres, compose, "/var/lib/postgresql/data")


def _assert_named_volume(service: dict[str, Any], compose: dict[str, Any], target: str) -> None:
    declared = set(compose.get("volumes") or {})
    for entry in service.get("volumes") or []:
        source, _, rest = str(entry).partition(":")
        if rest.split(":")[0] == target:
            assert source in declared, f"{source} is not a declared named volume"
            return
    pytest.fail(f"no named volume mounted at {target}")


# --------------------------------------------------------------------------
# Dockerfile and the modules it and docker-compose run
# --------------------------------------------------------------------------


@pytest.mark.unit
def test_dockerfile_contract() -> None:
    instructions = _dockerfile_instructions()
    keywords = [k for k, _ in instructions]
    args = {k: [a for kw, a in instructions if kw == k] for k in set(keywords)}

    assert args["FROM"][-1].split()[0] == "python:3.11-slim"
    assert args["WORKDIR"][-1] == "/app"
    runs = " ".join(args.get("RUN", []))
    assert "pip install --no-cache-dir -c constraints.txt ." in runs
    user = args.get("USER", ["root"])[-1].split(":")[0]
    assert user not in {"root", "0"}, "the image must run as a non-root user"
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert _exec_form(args["CMD"][-1]) == ["python", "-m", "services.api"]
    assert "ENTRYPOINT" not in keywords
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL|API_KEY", re.IGNORECASE)
    for kw in ("ENV", "ARG"):
        for value in args.get(kw, []):
            assert not secretish.search(value), f"default secret in the image: {kw} {value}"


@pytest.mark.unit
def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    for required in (".git", ".venv", ".parley", ".pytest_cache", ".mypy_cache", ".ruff_cache"):
        assert required in patterns, f".dockerignore does not exclude {required}"
    for needed in ("pyproject.toml", "constraints.txt", "alembic.ini", "shared", "services"):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the build needs"


@pytest.mark.unit
def test_run_modules_exist_in_the_repo(services: dict[str, Any]) -> None:
    """Each `python -m MODULE` run by docker-compose.yml or the Dockerfile CMD is a package."""
    modules: set[str] = set()
    for name in APP_SERVICES:
        modules.update(_python_modules(_command(services[name])))
    for keyword, args in _dockerfile_instructions():
        if keyword in {"CMD", "ENTRYPOINT"}:
            modules.update(_python_modules(_exec_form(args)))
    assert modules == {
        "services.api",
        "services.ingest",
        "services.projector",
        "services.webhooks",
    }

    missing = []
    for module in sorted(modules):
        package_dir = REPO_ROOT.joinpath(*module.split("."))
        if not (package_dir / "__main__.py").is_file():
            missing.append(f"{module} (expected {package_dir.relative_to(REPO_ROOT)}/__main__.py)")
    assert not missing, "modules run by the containers are missing: " + ", ".join(missing)
