"""The deployment files in deploy/ stay in step with the code.

- ``frontdoor.env.example`` documents every setting of :class:`frontdoor.settings.Settings`
  and nothing else, with the real defaults;
- ``compose.yaml`` parses, runs the right commands in the right order and keeps secrets in
  files; ``docker compose config`` accepts it where the compose plugin exists;
- the Dockerfile runs as a non-root user with a ``frontdoor status`` health check;
- the systemd units carry the keys an operator relies on.

Building the image is slow and needs a Docker engine: that test runs only with
``FRONTDOOR_TEST_DOCKER_BUILD=1``.
"""

from __future__ import annotations

import configparser
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from frontdoor.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ENV_EXAMPLE = DEPLOY / "frontdoor.env.example"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
UNITS = DEPLOY / "systemd"

# `FRONTDOOR_X=value` or `# FRONTDOOR_X=value` (a commented default) at the start of a line.
ASSIGNMENT = re.compile(r"^(#\s*)?(FRONTDOOR_[A-Z0-9_]+)=(.*)$")
# Any mention of a setting, in a value, a comment or prose.
MENTION = re.compile(r"FRONTDOOR_[A-Z0-9_]*[A-Z0-9]")
# Variables of the test suite itself, not settings.
NOT_SETTINGS = {"FRONTDOOR_TEST_DOCKER_BUILD"}


def setting_names() -> set[str]:
    """Every environment variable the Settings class reads."""
    return {f"FRONTDOOR_{name.upper()}" for name in Settings.model_fields}


def field_of(variable: str) -> str:
    return variable.removeprefix("FRONTDOOR_").lower()


def env_example_lines() -> list[tuple[bool, str, str]]:
    """(commented, variable, value) for each assignment line of the example."""
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = ASSIGNMENT.match(line)
        if m:
            lines.append((m.group(1) is not None, m.group(2), m.group(3)))
    return lines


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings built from exactly ``env`` (no other FRONTDOOR_* variable, no .env file)."""
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


# -- frontdoor.env.example ------------------------------------------------------------------


def test_env_example_documents_every_setting() -> None:
    """A setting added to Settings without a line in the example fails here."""
    documented = {name for _, name, _ in env_example_lines()}
    missing = sorted(setting_names() - documented)
    assert not missing, f"add to deploy/frontdoor.env.example: {', '.join(missing)}"


def test_env_example_names_no_unknown_variable() -> None:
    """Every FRONTDOOR_* name in the example, assigned or mentioned, is a real setting."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    unknown = sorted(set(MENTION.findall(text)) - setting_names())
    assert not unknown, f"not settings of frontdoor.settings.Settings: {', '.join(unknown)}"


def test_env_example_assigns_each_setting_once() -> None:
    names = [name for _, name, _ in env_example_lines()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    assert not repeated, f"listed more than once: {', '.join(repeated)}"


def test_env_example_commented_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A commented line shows the default: parsed, it gives the same value as leaving the
    variable unset (an empty value stands for a default that is unset or computed)."""
    defaults = settings_from({}, monkeypatch)
    shown = {name: value for commented, name, value in env_example_lines() if commented}
    assert shown, "no commented defaults found"
    wrong = []
    for name, value in shown.items():
        if not value:
            continue
        parsed = settings_from({name: value}, monkeypatch)
        field = field_of(name)
        if getattr(parsed, field) != getattr(defaults, field):
            wrong.append(f"{name}={value} (default {getattr(defaults, field)!r})")
    assert not wrong, "commented values that are not the defaults: " + "; ".join(wrong)


def test_env_example_active_values_are_valid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The uncommented lines (what production must set) pass validation as written, with the
    secret key file standing in for /etc/frontdoor/secret_key."""
    active = {name: value for commented, name, value in env_example_lines() if not commented}
    assert "FRONTDOOR_SECRET_KEY_FILE" in active, "production should read the key from a file"
    assert "FRONTDOOR_SECRET_KEY" not in active, "the key itself must not sit in the env file"
    key = tmp_path / "secret_key"
    key.write_text("k" * 64 + "\n", encoding="utf-8")
    active["FRONTDOOR_SECRET_KEY_FILE"] = str(key)
    settings = settings_from(active, monkeypatch)
    assert settings.secret_key is not None
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql+psycopg://")


# -- compose.yaml ---------------------------------------------------------------------------

_YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def _compose_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=60
    )
    return result.returncode == 0


def _compose_project(tmp_path: Path) -> Path:
    """A copy of deploy/ with the files an operator creates first (env file, secrets), so that
    compose can resolve everything without touching the real deploy/ folder."""
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(COMPOSE, deploy / "compose.yaml")
    shutil.copy(DOCKERFILE, deploy / "Dockerfile")
    shutil.copy(ENV_EXAMPLE, deploy / "frontdoor.env")
    (deploy / "secrets").mkdir()
    (deploy / "secrets" / "secret_key").write_text("k" * 64 + "\n", encoding="utf-8")
    (deploy / "secrets" / "db_password").write_text("p" * 32 + "\n", encoding="utf-8")
    return deploy / "compose.yaml"


def load_compose(tmp_path: Path) -> dict[str, Any]:
    """compose.yaml as data: PyYAML in this interpreter, else PyYAML in another python3 on
    PATH, else ``docker compose config``; skipped when none of them is available."""
    text = COMPOSE.read_text(encoding="utf-8")
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        pass
    else:
        data: dict[str, Any] = yaml.safe_load(text)
        return data
    other = shutil.which("python3")  # e.g. the system's, which may carry PyYAML
    if other is not None:
        result = subprocess.run(
            [other, "-c", _YAML_TO_JSON],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode == 0:
            parsed: dict[str, Any] = json.loads(result.stdout)
            return parsed
    if _compose_available():
        compose = _compose_project(tmp_path)
        result = subprocess.run(
            ["docker", "compose", "-f", str(compose), "config", "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        normalised: dict[str, Any] = json.loads(result.stdout)
        return normalised
    pytest.skip(
        "cannot parse YAML here: PyYAML is not installed (in this or another python3 on PATH, "
        "and it is not a project dependency) and the docker compose plugin is missing"
    )


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list), f"no command: {service}"
    return [str(part) for part in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: v for k, _, v in (str(item).partition("=") for item in env)}
    return {str(k): str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


FRONTDOOR_SERVICES = {
    "migrate": ["frontdoor", "migrate"],
    "worker": ["frontdoor", "run"],
    "web": ["frontdoor", "web", "--host", "0.0.0.0", "--port", "8080"],
}


def test_compose_services_run_the_right_commands(tmp_path: Path) -> None:
    services = load_compose(tmp_path)["services"]
    assert set(services) == {"migrate", "worker", "web", "db", "mail"}
    for name, command in FRONTDOOR_SERVICES.items():
        assert command_of(services[name]) == command, name


def test_compose_migrates_before_the_worker_and_web_start(tmp_path: Path) -> None:
    services = load_compose(tmp_path)["services"]
    assert depends_on(services["migrate"]) == {"db": "service_healthy"}
    for name in ("worker", "web"):
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully"
    assert str(services["migrate"].get("restart", "no")) == "no"
    assert services["migrate"]["healthcheck"]["disable"] is True


def test_compose_database_and_mail_catcher(tmp_path: Path) -> None:
    services = load_compose(tmp_path)["services"]
    db = services["db"]
    assert str(db["image"]).startswith("postgres:15")
    assert any("/var/lib/postgresql/data" in str(v) for v in db["volumes"])
    assert db["healthcheck"]["test"], "the database needs a health check for depends_on"
    assert "POSTGRES_PASSWORD_FILE" in environment_of(db)
    assert "POSTGRES_PASSWORD" not in environment_of(db)
    assert "mailpit" in str(services["mail"]["image"])


def test_compose_secrets_come_from_files(tmp_path: Path) -> None:
    data = load_compose(tmp_path)
    for name in FRONTDOOR_SERVICES:
        service = data["services"][name]
        assert service.get("env_file"), f"{name}: settings come from frontdoor.env"
        env = environment_of(service)
        assert "FRONTDOOR_SECRET_KEY" not in env
        assert "FRONTDOOR_SMTP_PASSWORD" not in env
        assert env["FRONTDOOR_SECRET_KEY_FILE"].startswith("/run/secrets/")
        unknown = sorted(set(env) - setting_names())
        assert not unknown, f"{name}: not settings: {unknown}"
        mounted = [s if isinstance(s, str) else s["source"] for s in service["secrets"]]
        assert Path(env["FRONTDOOR_SECRET_KEY_FILE"]).name in mounted
    assert set(data["secrets"]) >= {"secret_key", "db_password"}


def test_compose_web_is_published_on_loopback_only(tmp_path: Path) -> None:
    """The web app listens on 0.0.0.0 inside its container; on the host only the loopback
    interface may reach it (the reverse proxy), never the network directly."""
    web = load_compose(tmp_path)["services"]["web"]
    assert web["ports"], "the proxy needs a published port"
    for port in web["ports"]:
        if isinstance(port, dict):  # the normalised form of `docker compose config`
            assert port.get("host_ip") == "127.0.0.1", port
        else:
            assert str(port).startswith("127.0.0.1:"), port
    assert "/health" in json.dumps(web["healthcheck"]["test"])


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    """``docker compose config`` needs the compose plugin but no running engine."""
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    if not _compose_available():
        pytest.skip("the docker compose plugin is not installed (`docker compose version` fails)")
    compose = _compose_project(tmp_path)
    result = subprocess.run(
        ["docker", "compose", "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


# -- Dockerfile -----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    if arguments.startswith("["):
        parsed: list[str] = json.loads(arguments)
        return parsed
    return shlex.split(arguments)


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for kw, args in dockerfile_instructions() if kw == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_health_check_and_default_command() -> None:
    instructions = dockerfile_instructions()
    checks = [args for kw, args in instructions if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    _, _, command = checks[0].partition("CMD")
    assert exec_form(command.strip())[:2] == ["frontdoor", "status"]
    cmds = [args for kw, args in instructions if kw == "CMD"]
    assert exec_form(cmds[-1]) == ["frontdoor", "run"]


def test_dockerfile_installs_the_lock_then_the_project_without_dependencies() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    assert instructions[0][1].startswith("python:3.11-slim")
    runs = [args for kw, args in instructions if kw == "RUN"]
    lock = next(i for i, r in enumerate(runs) if "-r " in r and "requirements.lock" in r)
    project = next(i for i, r in enumerate(runs) if "--no-deps" in r)
    assert lock < project
    text = DOCKERFILE.read_text(encoding="utf-8")
    # No package index is named: pip uses its configured one (a mirror via build argument).
    assert "://" not in text
    assert "index-url" not in text.replace("PIP_INDEX_URL", "")


def test_dockerfile_points_the_settings_at_the_copied_rules_and_templates() -> None:
    instructions = dockerfile_instructions()
    copies = {}
    for kw, args in instructions:
        if kw == "COPY":
            parts = args.split()
            if len(parts) == 2:
                copies[parts[0].rstrip("/")] = parts[1]
    env: dict[str, str] = {}
    for kw, args in instructions:
        if kw == "ENV":
            for item in shlex.split(args):
                if "=" in item:
                    key, _, value = item.partition("=")
                    env[key] = value
    assert env["FRONTDOOR_RULES_DIR"] == copies["rules"]
    assert env["FRONTDOOR_TEMPLATES_DIR"] == copies["templates"]
    unknown = sorted({k for k in env if k.startswith("FRONTDOOR_")} - setting_names())
    assert not unknown


# -- systemd units --------------------------------------------------------------------------


def read_unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    parser.read(UNITS / name, encoding="utf-8")
    assert parser.sections(), f"cannot read {name}"
    return parser


def unit_values(name: str, key: str) -> list[str]:
    """Every value of a key that may repeat (configparser keeps only the last)."""
    prefix = f"{key}="
    text = (UNITS / name).read_text(encoding="utf-8")
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("frontdoor-worker.service", ["run"]),
        ("frontdoor-web.service", ["web", "--host", "127.0.0.1", "--port", "8080"]),
        ("frontdoor-migrate.service", ["migrate"]),
    ],
)
def test_systemd_unit_has_the_required_keys(unit: str, command: list[str]) -> None:
    parser = read_unit(unit)
    service = parser["Service"]
    assert parser["Unit"].get("Description")
    assert service["User"] not in {"root", "0"}
    assert service["EnvironmentFile"] == "/etc/frontdoor/frontdoor.env"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/frontdoor")
    assert argv[1:] == command
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    env = dict(v.split("=", 1) for v in unit_values(unit, "Environment"))
    writable = service["ReadWritePaths"].split()
    assert env["FRONTDOOR_DATA_DIR"] in writable
    mentioned = set(MENTION.findall((UNITS / unit).read_text(encoding="utf-8")))
    assert not mentioned - setting_names(), mentioned - setting_names()
    if unit == "frontdoor-migrate.service":
        assert service["Type"] == "oneshot"
    else:
        assert service["Restart"] == "on-failure"
        assert "frontdoor-migrate.service" in parser["Unit"]["After"].split()
        assert parser["Install"]["WantedBy"] == "multi-user.target"


# -- building the image (opt-in) ------------------------------------------------------------


def _docker_engine_reason() -> str | None:
    """Why the image cannot be built here, or None when it can."""
    if os.environ.get("FRONTDOOR_TEST_DOCKER_BUILD") != "1":
        return "slow: set FRONTDOOR_TEST_DOCKER_BUILD=1 to build the image"
    docker = shutil.which("docker")
    if docker is None:
        return "docker is not installed"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, check=False, timeout=60)
    if info.returncode != 0:
        return "no Docker engine reachable (`docker info` fails)"
    return None


def test_image_builds_and_runs_as_non_root() -> None:
    reason = _docker_engine_reason()
    if reason:
        pytest.skip(reason)
    tag = "frontdoor:deploy-test"
    build = subprocess.run(
        ["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(REPO)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    uid = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert uid.stdout.strip() != "0"
    check = subprocess.run(
        ["docker", "run", "--rm", tag, "frontdoor", "check-config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
