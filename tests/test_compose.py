"""The production deployment: docker-compose.yml, the images and their helpers.

Docker Compose itself (the official binary, installed by `make install` from docker/compose.lock and run as the
`docker compose` plugin when the docker CLI is present) validates and resolves the file; the tests then check
what Compose cannot know: every service is health-checked and waited for, images come from this repository's
Dockerfiles or pinned upstream images, every PULSE_* name is a real setting, no secret is written down, the ports
are Pulse's defaults. No Docker engine is needed; the PostgreSQL init script, the connection URLs the containers
get and the health-check helper run for real against local processes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml

from pulse.core.settings import Settings
from tests.pg import PostgresMissing, PostgresServer

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
COMPOSE_BINARY = REPO / ".tools" / "bin" / "docker-compose"
DOCKERFILES = {"pulse": REPO / "docker" / "pulse.Dockerfile", "superset": REPO / "docker" / "superset.Dockerfile"}

# Each service that listens for users, with the port it serves: Pulse's default for that service everywhere.
SERVICE_PORTS = {"clickhouse": 8123, "api": 8000, "airflow-api-server": 8080, "superset": 8088, "mailpit": 1025}
# Images not built here: official upstream images, always at a pinned tag.
UPSTREAM_IMAGES = {"postgres", "clickhouse/clickhouse-server", "axllent/mailpit"}
# Services that run Pulse's own code and so read extra PULSE_* settings from pulse.env.
PULSE_SERVICES = {"api", "alerts", "airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                  "airflow-triggerer", "superset-assets"}  # fmt: skip
ONE_SHOT = {"airflow-init", "superset-init", "superset-assets"}

SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
NOT_SECRET_NAME = re.compile(r"_(FILE|USER|EMAIL)$")
# ${VAR}, ${VAR:?message}, ${VAR?message} or ${VAR:-}: a value taken from .env, with no default written here.
FROM_ENV = re.compile(r"\$\{[A-Z][A-Z0-9_]*(:?\?[^}]*|:-)?\}")
REQUIRED = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*):?\?")
URL_PASSWORD = re.compile(r"://[^:/@\s\"']+:([^@\s\"']*)@")
JSON_PASSWORD = re.compile(r"\"password\"\s*:\s*\"([^\"]*)\"")
CLI_PASSWORD = re.compile(r"--password[ =]\"?([^\"\s]+)")


# -- Running Compose --------------------------------------------------------------------------------------------
def compose_command(tmp: Path) -> list[str]:
    """`docker compose` with the pinned binary as its plugin; the bare binary where there is no docker CLI."""
    if not COMPOSE_BINARY.exists():
        pytest.fail(f"{COMPOSE_BINARY} is missing: run `make install` (it installs docker/compose.lock)")
    docker = shutil.which("docker")
    if docker is None:
        return [str(COMPOSE_BINARY)]
    plugins = tmp / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "docker-compose").unlink(missing_ok=True)
    (plugins / "docker-compose").symlink_to(COMPOSE_BINARY)
    return [docker, "--config", str(tmp / "docker-config"), "compose"]


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def filled_env_file(path: Path) -> Path:
    """.env.example with every required blank filled in, as an operator would: random URL-safe secrets.
    Optional blanks (no SMTP login, no Redis) stay blank."""
    required = set(REQUIRED.findall(COMPOSE_FILE.read_text()))
    lines = []
    for name, value in env_example_values().items():
        if not value and name in required:
            value = base64.urlsafe_b64encode(os.urandom(32)).decode() if "FERNET" in name else secrets.token_hex(24)
        lines.append(f"{name}={value}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_compose(tmp: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Variables in the caller's environment would win over the env file: keep only what Compose needs.
    env = {k: v for k, v in os.environ.items() if k not in env_example_values() and not k.startswith("COMPOSE_")}
    return subprocess.run(
        [*compose_command(tmp), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
         "--env-file", str(env_file), *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def compose_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compose")


@pytest.fixture(scope="module")
def env_file(compose_tmp: Path) -> Path:
    return filled_env_file(compose_tmp / "filled.env")


@pytest.fixture(scope="module")
def resolved(compose_tmp: Path, env_file: Path) -> dict[str, Any]:
    """The model `docker compose config` resolves: anchors merged, variables interpolated, defaults applied."""
    proc = run_compose(compose_tmp, env_file, "config", "--format", "json")
    assert proc.returncode == 0, f"docker compose config rejected docker-compose.yml:\n{proc.stderr}"
    model: dict[str, Any] = json.loads(proc.stdout)
    return model


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as written (PyYAML resolves anchors and merge keys, not ${...})."""
    model: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return model


def one_shot_services(model: dict[str, Any]) -> set[str]:
    """Services that run to completion (migrations, imports) rather than serve: never restarted once done."""
    return {
        name
        for name, service in model["services"].items()
        if service.get("restart", "no") == "no" or service["restart"].startswith("on-failure")
    }


# -- Compose's own verdict ----------------------------------------------------------------------------------------
def test_compose_config_accepts_the_file(resolved: dict[str, Any]) -> None:
    assert resolved["name"] == "pulse"
    assert set(resolved["services"]) == {
        "postgres", "clickhouse", "mailpit", "api", "alerts", "airflow-init", "airflow-api-server", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer", "superset-init", "superset", "superset-assets",
    }  # fmt: skip


def test_blank_secrets_are_refused(compose_tmp: Path) -> None:
    """.env.example as committed names every secret and holds none: Compose refuses it until each is filled in."""
    required = set(REQUIRED.findall(COMPOSE_FILE.read_text()))
    assert required, "docker-compose.yml should require its secrets (${VAR:?message})"
    example = env_example_values()
    assert all(example.get(name) == "" for name in required), "every required variable is a blank in .env.example"
    proc = run_compose(compose_tmp, ENV_EXAMPLE, "config", "--quiet")
    assert proc.returncode != 0
    unnamed = sorted(name for name in required if f"set {name} in .env" not in proc.stderr)
    assert not unnamed, f"Compose did not ask for: {unnamed}"


def test_every_variable_compose_reads_is_in_env_example() -> None:
    # `$${...}` is an escape: the container's shell expands it, not Compose.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    missing = used - set(env_example_values())
    assert not missing, f"document these in .env.example: {sorted(missing)}"


# -- Health and start order ---------------------------------------------------------------------------------------
def test_every_serving_service_is_health_checked(resolved: dict[str, Any]) -> None:
    one_shot = one_shot_services(resolved)
    assert one_shot == ONE_SHOT
    waited_for = {
        name
        for service in resolved["services"].values()
        for name, dep in (service.get("depends_on") or {}).items()
        if dep["condition"] == "service_completed_successfully"
    }
    assert waited_for <= one_shot, "a service others wait to complete must run to completion"
    for name, service in resolved["services"].items():
        if name in one_shot:
            assert "healthcheck" not in service or service["healthcheck"].get("disable"), name
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"} and check["test"][1:] != ["NONE"], name


def test_dependencies_wait_for_health_not_just_start(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert spec["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dependency)
            if spec["condition"] == "service_healthy":
                assert resolved["services"][dependency].get("healthcheck"), (name, dependency)


def test_health_checks_probe_the_documented_endpoints(resolved: dict[str, Any]) -> None:
    tests = {name: " ".join(s["healthcheck"]["test"]) for name, s in resolved["services"].items() if "healthcheck" in s}
    assert "http://127.0.0.1:8000/healthz" in tests["api"]
    assert "http://127.0.0.1:8123/ping" in tests["clickhouse"]
    assert "/api/v2/monitor/health" in tests["airflow-api-server"]
    # Superset's /health answers OK even when pages fail: a real page must render too.
    assert "/health" in tests["superset"] and "/login/" in tests["superset"]
    assert "pg_isready" in tests["postgres"]


def test_services_wait_for_what_they_use(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services["api"]["depends_on"]) >= {"postgres"}
    for name in {n for n in PULSE_SERVICES if n.startswith("airflow-")} - {"airflow-init"}:
        assert set(services[name]["depends_on"]) >= {"postgres", "clickhouse", "mailpit", "airflow-init"}, name
    # The scheduler's tasks, the triggerer and the DAG processor call the API server's execution API.
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert "airflow-api-server" in services[name]["depends_on"], name
    assert set(services["superset"]["depends_on"]) >= {"postgres", "clickhouse", "superset-init"}
    assert set(services["superset-assets"]["depends_on"]) == {"superset"}


# -- Images -------------------------------------------------------------------------------------------------------
def test_images_are_built_here_or_pinned_upstream(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        if "build" in service:
            build = service["build"]
            assert Path(build["context"]) == REPO, name
            assert Path(REPO / build["dockerfile"]) in DOCKERFILES.values(), (name, build["dockerfile"])
            assert service["image"].split(":")[0] in {"pulse", "pulse-superset"}, name
        else:
            repository, _, tag = service["image"].partition(":")
            assert repository in UPSTREAM_IMAGES, (name, service["image"])
            assert tag and tag != "latest", f"{name}: pin the image's tag"


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_is_multi_stage_non_root_from_the_lock(image: str) -> None:
    text = DOCKERFILES[image].read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    assert len(stages) >= 2, "build in one stage, run in another (no compilers or uv at run time)"
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER (\S+)$", final, re.M)
    assert user and user[-1] not in {"root", "0"}, "the final stage must run as a non-root user"
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert makefile_uv and args["UV_VERSION"] == makefile_uv.group(1), "same uv as the Makefile"
    lock = "requirements/main.lock" if image == "pulse" else "requirements/superset.lock"
    assert f"COPY {lock} " in text and "uv pip sync" in text, f"install from {lock}, nothing else"
    assert 'pip install --no-cache-dir "uv==${UV_VERSION}"' in text


def test_dockerfile_sources_are_in_the_build_context() -> None:
    """Every COPY source is committed and survives .dockerignore (else `docker build` fails on a fresh clone)."""
    ignored = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] not in "#!"]
    for dockerfile in DOCKERFILES.values():
        for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), re.M):
            for source in sources.split():
                if source == ".":
                    continue
                tracked = subprocess.run(["git", "ls-files", "--error-unmatch", source], cwd=REPO,
                                         capture_output=True, check=False)  # fmt: skip
                assert tracked.returncode == 0, f"{dockerfile.name} copies {source}, which git does not track"
                assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in ignored), source


def test_pulse_image_has_what_weasyprint_and_the_reports_need() -> None:
    makefile = (REPO / "Makefile").read_text()
    apt = re.search(r"^APT_PACKAGES := (.+?)(?<!\\)\n", makefile, re.M | re.S)
    assert apt
    wanted = {p for p in apt.group(1).replace("\\\n", " ").split() if p.startswith(("libpango", "fonts-"))}
    assert wanted, "the Makefile should list WeasyPrint's Pango and the fonts"
    installed = set(DOCKERFILES["pulse"].read_text().split())
    assert wanted <= installed, f"the image lacks {wanted - installed}"


def test_health_check_helper_is_in_every_image_that_uses_it(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        if service.get("healthcheck", {}).get("test", [None, None])[1] == "pulse-http-check":
            dockerfile = (REPO / service["build"]["dockerfile"]).read_text()
            assert "COPY docker/http_check.py /usr/local/bin/pulse-http-check" in dockerfile, name


LOCKED_DRIVERS = {"psycopg": "psycopg", "psycopg2": "psycopg2-binary"}


def locked(lock: str, package: str) -> bool:
    return re.search(rf"^{re.escape(package)}==", (REPO / "requirements" / lock).read_text(), re.M) is not None


def test_pulse_image_has_the_drivers_its_urls_name(resolved: dict[str, Any]) -> None:
    env = resolved["services"]["airflow-scheduler"]["environment"]
    for url in (env["PULSE_OPS_DATABASE_URL"], env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]):
        driver = urlsplit(url).scheme.partition("+")[2]
        assert locked("main.lock", LOCKED_DRIVERS[driver]), url


def test_superset_image_has_the_driver_its_metadata_url_names(resolved: dict[str, Any]) -> None:
    url = resolved["services"]["superset"]["environment"]["SUPERSET_DATABASE_URI"]
    assert locked("superset.lock", LOCKED_DRIVERS[urlsplit(url).scheme.partition("+")[2]]), url


# -- Settings and secrets -----------------------------------------------------------------------------------------
def pulse_setting_names() -> set[str]:
    names = {f"PULSE_{name.upper()}" for name in Settings.model_fields}
    # dbt's connection is read by dbt_project/profiles.yml from the process environment (pulse/dbt/runner.py sets it
    # from the settings; the Airflow dbt tasks inherit it from the container).
    profile = (REPO / "dbt_project" / "profiles.yml").read_text()
    names |= set(re.findall(r"env_var\('(PULSE_\w+)'", profile))
    # Superset's configuration file (it runs in Superset's environment) reads its part from the environment too.
    superset_config = (REPO / "docker" / "superset" / "superset_config.py").read_text()
    return names | set(re.findall(r"os\.environ\.get\(\"(PULSE_\w+)\"", superset_config))


def test_every_pulse_variable_is_a_real_setting(resolved: dict[str, Any]) -> None:
    """pydantic-settings ignores unknown PULSE_* names, so a typo would silently fall back to a default."""
    known = pulse_setting_names()
    used = {name for service in resolved["services"].values() for name in service.get("environment") or {}}
    unknown = sorted(name for name in used if name.startswith("PULSE_") and name not in known)
    assert not unknown, f"not settings in pulse/core/settings.py (nor read by dbt's profile): {unknown}"


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def test_no_secret_is_written_in_the_compose_file(raw: dict[str, Any]) -> None:
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not NOT_SECRET_NAME.search(key):
                assert FROM_ENV.fullmatch(str(value)), f"{name}.{key} must come from .env, no default"
    for text in strings(raw):
        for pattern in (URL_PASSWORD, JSON_PASSWORD, CLI_PASSWORD):
            for secret in pattern.findall(text):
                assert FROM_ENV.fullmatch(secret.replace("$$", "$")), f"literal secret in: {text}"


def test_env_example_sets_no_pulse_setting() -> None:
    """`pulse` reads .env from its working directory: a PULSE_* line in the deployment's .env would also
    reconfigure a development checkout (its store's PIN pepper, its mail relay)."""
    assignments = re.findall(r"^#?\s*(PULSE_\w+)\s*=", ENV_EXAMPLE.read_text(), re.M)
    assert not assignments, f"name these without the PULSE_ prefix and map them in docker-compose.yml: {assignments}"


def test_env_example_holds_no_secret() -> None:
    for name, value in env_example_values().items():
        if SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name):
            assert value == "", f".env.example must leave {name} blank"


def test_env_file_is_read_and_never_shipped(raw: dict[str, Any]) -> None:
    for name in PULSE_SERVICES:
        paths = [entry["path"] if isinstance(entry, dict) else entry for entry in raw["services"][name]["env_file"]]
        assert paths == ["pulse.env"], name
    for ignore in (".gitignore", ".dockerignore"):
        lines = (REPO / ignore).read_text().splitlines()
        assert ".env" in lines and "pulse.env" in lines, f"{ignore} must keep .env and pulse.env out"


def test_ports_are_pulse_defaults(resolved: dict[str, Any]) -> None:
    defaults = Settings.model_fields
    assert defaults["api_port"].default == SERVICE_PORTS["api"]
    assert defaults["airflow_port"].default == SERVICE_PORTS["airflow-api-server"]
    assert urlsplit(defaults["clickhouse_url"].default).port == SERVICE_PORTS["clickhouse"]
    assert defaults["superset_port"].default == SERVICE_PORTS["superset"]
    assert defaults["smtp_port"].default == SERVICE_PORTS["mailpit"]
    for name, port in SERVICE_PORTS.items():
        published = {(int(p["target"]), int(p["published"])) for p in resolved["services"][name].get("ports", [])}
        assert (port, port) in published, f"{name} should publish {port}"
        assert all(p["host_ip"] == "127.0.0.1" for p in resolved["services"][name]["ports"]), "bind to loopback"
    environment = resolved["services"]["api"]["environment"]
    assert environment["PULSE_API_PORT"] == str(SERVICE_PORTS["api"]) and environment["PULSE_API_HOST"] == "0.0.0.0"
    airflow = resolved["services"]["airflow-scheduler"]["environment"]
    assert (airflow["PULSE_SMTP_HOST"], airflow["PULSE_SMTP_PORT"]) == ("mailpit", str(SERVICE_PORTS["mailpit"]))
    assert airflow["PULSE_SMTP_SINK"] == "false", "the containers send through Mailpit, never their own sink"


def test_state_lives_in_named_volumes(resolved: dict[str, Any]) -> None:
    named = set(resolved["volumes"])
    for name, target in {"postgres": "/var/lib/postgresql/data", "clickhouse": "/var/lib/clickhouse",
                         "airflow-scheduler": "/var/lib/pulse", "superset": "/var/lib/superset"}.items():  # fmt: skip
        mounts = {v["target"]: v for v in resolved["services"][name]["volumes"]}
        assert mounts[target]["type"] == "volume" and mounts[target]["source"] in named, name
    airflow = {s["volumes"][0]["source"] for n, s in resolved["services"].items() if n.startswith("airflow-")}
    assert len(airflow) == 1, "Airflow's components share one PULSE_HOME: logs, login, the dbt manifest"


def test_airflow_connections_agree_with_the_rest(resolved: dict[str, Any]) -> None:
    """What the DAGs connect to (pulse/airflow/elt_tasks.py) is what dbt, the API and ClickHouse itself are set to."""
    services = resolved["services"]
    env = services["airflow-scheduler"]["environment"]
    warehouse = json.loads(env["AIRFLOW_CONN_PULSE_WAREHOUSE"])
    ops = json.loads(env["AIRFLOW_CONN_PULSE_OPS"])
    assert warehouse["conn_type"] == "clickhouse" and warehouse["extra"] == {"secure": False}
    assert (warehouse["host"], warehouse["port"], warehouse["login"]) == ("clickhouse", SERVICE_PORTS["clickhouse"],
                                                                          "default")  # fmt: skip
    assert warehouse["password"] == services["clickhouse"]["environment"]["CLICKHOUSE_PASSWORD"]
    dbt = (env["PULSE_DBT_HOST"], int(env["PULSE_DBT_PORT"]), env["PULSE_DBT_USER"], env["PULSE_DBT_PASSWORD"])
    assert dbt == (warehouse["host"], warehouse["port"], warehouse["login"], warehouse["password"])
    settings = Settings(clickhouse_url=env["PULSE_CLICKHOUSE_URL"], home=Path("/var/lib/pulse"))
    assert (settings.clickhouse_host, settings.clickhouse_port, settings.clickhouse_user) == dbt[:3]
    assert settings.clickhouse_password == warehouse["password"]
    assert (
        ops["extra"]["url"] == env["PULSE_OPS_DATABASE_URL"] == services["api"]["environment"]["PULSE_OPS_DATABASE_URL"]
    )
    reader = services["clickhouse"]["environment"]["PULSE_WAREHOUSE_READER_PASSWORD"]
    assert reader and reader != warehouse["password"]
    assert env["PULSE_WAREHOUSE_READER_PASSWORD"] == reader, "reports read the warehouse as pulse_reader"


def test_clickhouse_reader_is_read_only_with_its_password_from_the_environment(resolved: dict[str, Any]) -> None:
    mounts = {v["target"]: v["source"] for v in resolved["services"]["clickhouse"]["volumes"]}
    users_xml = Path(mounts["/etc/clickhouse-server/users.d/pulse-reader.xml"])
    root = ET.parse(users_xml).getroot()  # noqa: S314 - our own file
    user = root.find("users/pulse_reader")
    assert user is not None
    password = user.find("password")
    assert password is not None and password.get("from_env") == "PULSE_WAREHOUSE_READER_PASSWORD"
    assert "PULSE_WAREHOUSE_READER_PASSWORD" in resolved["services"]["clickhouse"]["environment"]
    profile = root.find(f"profiles/{user.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "2", "reads only, and cannot lift that"
    assert user.findtext("access_management") == "0"


def test_dashboard_import_reaches_superset_and_the_warehouse(resolved: dict[str, Any]) -> None:
    """`pulse superset import` talks to Superset on 127.0.0.1:PULSE_SUPERSET_PORT, so it runs in Superset's
    network namespace; the warehouse connection it gives Superset is the read-only user on the compose host."""
    services = resolved["services"]
    assets = services["superset-assets"]
    assert assets["network_mode"] == "service:superset"
    env = assets["environment"]
    assert int(env["PULSE_SUPERSET_PORT"]) == SERVICE_PORTS["superset"]
    settings = Settings(clickhouse_url=env["PULSE_CLICKHOUSE_URL"], home=Path("/var/lib/pulse"))
    assert (settings.clickhouse_host, settings.clickhouse_port) == ("clickhouse", SERVICE_PORTS["clickhouse"])
    reader = services["clickhouse"]["environment"]["PULSE_WAREHOUSE_READER_PASSWORD"]
    assert settings.clickhouse_user == "pulse_reader" and settings.clickhouse_password == reader
    assert env["PULSE_WAREHOUSE_READER_PASSWORD"] == reader
    superset_init = services["superset-init"]["environment"]
    assert env["PULSE_SUPERSET_ADMIN_USER"] == superset_init["PULSE_SUPERSET_ADMIN_USER"]
    assert env["PULSE_SUPERSET_ADMIN_PASSWORD"] == superset_init["PULSE_SUPERSET_ADMIN_PASSWORD"]
    for key in ("SUPERSET_SECRET_KEY", "SUPERSET_DATABASE_URI", "PULSE_SUPERSET_CACHE_DIR"):
        assert services["superset"]["environment"][key] == superset_init[key], key


@pytest.mark.superset
def test_superset_image_config_is_pulses_plus_the_deployments(resolved: dict[str, Any], tmp_path: Path) -> None:
    """The image's /etc/superset as the Dockerfile lays it out, loaded by Superset itself (in .venv-superset)
    with the container's environment: Pulse's settings (RBAC, caches) and the proxy settings both apply."""
    from tests.conftest import SUPERSET_PYTHON

    if not SUPERSET_PYTHON.exists():
        pytest.fail(f"{SUPERSET_PYTHON} is missing: run `make install`")
    dockerfile = DOCKERFILES["superset"].read_text()
    etc = tmp_path / "etc-superset"
    etc.mkdir()
    for source, target in re.findall(r"^COPY (?!--from)(\S+) /etc/superset/(\S+)$", dockerfile, re.M):
        shutil.copy(REPO / source, etc / target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERSET", "PULSE_", "PYTHONPATH"))}
    env.update(resolved["services"]["superset"]["environment"])
    env.update(
        SUPERSET_CONFIG_PATH=str(etc / "superset_config.py"),
        SUPERSET_HOME=str(tmp_path / "home"),
        SUPERSET_DATABASE_URI=f"sqlite:///{tmp_path / 'superset.db'}",
        PULSE_SUPERSET_CACHE_DIR=str(tmp_path / "cache"),
        SUPERSET_COOKIE_SECURE="true",
    )
    probe = (
        "import json\nfrom superset import config\n"
        "print(json.dumps({'rbac': config.FEATURE_FLAGS.get('DASHBOARD_RBAC'), 'secure': config.SESSION_COOKIE_SECURE,"
        " 'proxy': config.ENABLE_PROXY_FIX, 'key': config.SECRET_KEY, 'cache': config.DATA_CACHE_CONFIG['CACHE_TYPE'],"
        " 'timeout': config.DATA_CACHE_CONFIG['CACHE_DEFAULT_TIMEOUT']}))"
    )
    proc = subprocess.run([str(SUPERSET_PYTHON), "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == {
        "rbac": True,
        "secure": True,
        "proxy": False,
        "key": resolved["services"]["superset"]["environment"]["SUPERSET_SECRET_KEY"],
        "cache": "FileSystemCache",
        "timeout": 600,
    }


# -- Helpers, run for real ----------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/ok": 200, "/moved": 302, "/broken": 500}.get(self.path, 404)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_http_check_passes_only_when_every_url_answers() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    script = str(REPO / "docker" / "http_check.py")

    def check(*paths: str) -> int:
        return subprocess.run([sys.executable, script, *(base + p for p in paths)], capture_output=True,
                              timeout=60, check=False).returncode  # fmt: skip

    try:
        assert check("/ok") == 0
        assert check("/ok", "/moved") == 0
        assert check("/ok", "/broken") == 1
        assert check("/missing") == 1
    finally:
        server.shutdown()
        server.server_close()
    assert subprocess.run([sys.executable, script, base + "/ok"], capture_output=True, check=False).returncode == 1


def scram_matches(verifier: str, password: str) -> bool:
    """Does PostgreSQL's stored SCRAM-SHA-256 verifier belong to this password? (RFC 5802/7677)"""
    method, _, rest = verifier.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    iterations, _, salt = iterations_salt.partition(":")
    stored_key, _, _server_key = keys.partition(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return method == "SCRAM-SHA-256" and hmac.compare_digest(hashlib.sha256(client_key).digest(),
                                                             base64.b64decode(stored_key))  # fmt: skip


def on_local_server(url: str, port: int) -> str:
    """A container's URL (host `postgres`) pointed at the test's PostgreSQL instead."""
    parts = urlsplit(url)
    assert parts.hostname == "postgres" and parts.port == 5432, url
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{port}"))


@pytest.mark.slow
def test_postgres_init_and_the_urls_the_containers_get(resolved: dict[str, Any], tmp_path: Path) -> None:
    """docker/postgres/init-databases.sh on a real PostgreSQL, then the API's migrations and Airflow's database
    check through the very URLs (and drivers) docker-compose.yml gives those containers."""
    try:
        server = PostgresServer().start()
    except PostgresMissing as err:
        pytest.fail(str(err))
    # Quotes, a backslash, $ and spaces: the script must pass any password through intact.
    passwords = {"pulse": 'o\'hara \\ $HOME "x"', "airflow": secrets.token_hex(16), "superset": "p;drop role x;--"}
    try:
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(server.port), "POSTGRES_USER": "postgres",
               "OPS_DB_PASSWORD": passwords["pulse"], "AIRFLOW_DB_PASSWORD": passwords["airflow"],
               "SUPERSET_DB_PASSWORD": passwords["superset"]}  # fmt: skip
        init = subprocess.run(["bash", str(REPO / "docker" / "postgres" / "init-databases.sh")], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert init.returncode == 0, init.stderr
        with psycopg.connect(server.admin_dsn) as conn:
            rows = conn.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin").fetchall()
            roles: dict[str, str] = dict(rows)
            rows = conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database").fetchall()
            database_owners: dict[str, str] = dict(rows)
        for role, password in passwords.items():
            assert scram_matches(roles[role], password), f"role {role} did not get its password"
            assert database_owners[role] == role

        services = resolved["services"]
        api_url = on_local_server(services["api"]["environment"]["PULSE_OPS_DATABASE_URL"], server.port)
        migrate = subprocess.run([sys.executable, "-m", "pulse", "api", "migrate"], capture_output=True, text=True,
                                 timeout=300, check=False, cwd=tmp_path,
                                 env={**os.environ, "PULSE_HOME": str(tmp_path / "home"),
                                      "PULSE_OPS_DATABASE_URL": api_url})  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr + migrate.stdout
        with psycopg.connect(server.admin_dsn.replace("dbname=postgres", "dbname=pulse")) as conn:
            table_owners = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert table_owners == {"pulse"}, "the API's own role owns the store's tables"

        airflow_env = services["airflow-scheduler"]["environment"]
        airflow_url = on_local_server(airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], server.port)
        assert (
            airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]
            == airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        )
        check = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "check"], capture_output=True, text=True,
            timeout=300, check=False, cwd=tmp_path,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
                 "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_url,
                 # Without it Airflow derives an asyncpg URL, and asyncpg is not installed.
                 "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": airflow_url},
        )  # fmt: skip
        assert check.returncode == 0, check.stderr[-3000:]
    finally:
        server.stop()
