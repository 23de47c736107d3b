"""Server settings: one frozen dataclass, filled from flags, DISAMBIG_* variables and a TOML file.

Precedence is flag > environment > file > default. Every value is parsed and checked when the
server starts; a bad one raises SettingsError naming the setting and where it came from, which
the CLI turns into exit code 2. This is the only module that reads os.environ for the server.

Chosen over pydantic-settings: the standard library (dataclasses, tomllib) covers it, error
messages can name the exact source of a bad value (flag, variable or file), and relative paths
in a file resolve against the file's own directory.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from disambig.errors import DisambigError

ENV_PREFIX = "DISAMBIG_"
ENV_CONFIG = "DISAMBIG_CONFIG"
DEFAULT_DB = "sqlite:///./disambig.db"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
SCOPES = ("read", "write")

F = TypeVar("F", bound=Callable[..., Any])


class SettingsError(DisambigError):
    """A setting has a bad value; names the setting and its source."""

    def __init__(self, name: str, source: str, message: str) -> None:
        self.name = name
        self.source = source
        super().__init__(f"setting {name!r} ({source}): {message}")


# -- parsers: raw value (str from flags/env, TOML types from a file) -> typed value ------------
def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"must be a string, got {raw!r}")
    return raw.strip()


def _integer(low: int, high: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise ValueError(f"must be an integer, got {raw!r}")
        try:
            value = int(raw.strip()) if isinstance(raw, str) else int(raw)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _number(low: float, high: float) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        if isinstance(raw, bool):
            raise ValueError(f"must be a number, got {raw!r}")
        try:
            value = float(raw.strip()) if isinstance(raw, str) else float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = _text(raw).lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _path(raw: object) -> Path | None:
    if isinstance(raw, Path):
        return raw
    value = _text(raw)
    return Path(value).expanduser() if value else None


def _db_url(raw: object) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    value = _text(raw)
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("is not a database URL (e.g. sqlite:///./disambig.db, postgresql+psycopg://...)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"registry must be sqlite or postgresql, got {url.get_backend_name()!r}")
    return value


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "***"


def _meta(help: str, parse: Callable[[object], Any], mask: Callable[[str], str] | None = None) -> dict[str, Any]:
    return {"help": help, "parse": parse, "mask": mask}


@dataclass(frozen=True)
class Settings:
    """Everything `disambig serve` can be told."""

    host: str = field(default="127.0.0.1", metadata=_meta("Address to listen on (0.0.0.0 in a container).", _text))
    port: int = field(default=50051, metadata=_meta("gRPC port (0 = any free port).", _integer(0, 65535)))
    db: str = field(
        default=DEFAULT_DB,
        metadata=_meta("Registry URL: sqlite:///FILE or postgresql+psycopg://...", _db_url, mask_url),
    )
    model: Path | None = field(default=None, metadata=_meta("Model directory (default: the shipped model).", _path))
    workers: int = field(default=8, metadata=_meta("Threads serving calls (per process).", _integer(1, 1024)))
    processes: int = field(
        default=1,
        metadata=_meta(
            "Server processes sharing the port (SO_REUSEPORT), each with its own workers and caches: "
            "one per core serves that many times the calls.",
            _integer(1, 64),
        ),
    )
    log_format: str = field(
        default="text", metadata=_meta("Log format: text or json (one line per call).", _choice(LOG_FORMATS))
    )
    log_level: str = field(
        default="info", metadata=_meta("Log level: debug, info, warning or error.", _choice(LOG_LEVELS))
    )
    metrics_host: str = field(default="", metadata=_meta("Address of the Prometheus endpoint (default: host).", _text))
    metrics_port: int = field(default=0, metadata=_meta("Prometheus endpoint port (0 = off).", _integer(0, 65535)))
    tls_cert: Path | None = field(default=None, metadata=_meta("Server certificate chain (PEM); enables TLS.", _path))
    tls_key: Path | None = field(default=None, metadata=_meta("Server private key (PEM).", _path))
    tls_client_ca: Path | None = field(
        default=None, metadata=_meta("CA (PEM) whose client certificates are required (mutual TLS).", _path)
    )
    auth_tokens: Path | None = field(
        default=None, metadata=_meta("Tokens file (TOML or JSON: token = read|write); enables auth.", _path)
    )
    grace_seconds: float = field(
        default=30.0, metadata=_meta("On SIGTERM, time in-flight calls get to finish.", _number(0, 3600))
    )
    max_message_bytes: int = field(
        default=16 * 1024 * 1024, metadata=_meta("Largest request or response.", _integer(1024, 2**31 - 1))
    )
    # stored_mentions.DEFAULT_CAPACITY (tested equal): importing it here would import the
    # registry's SQLAlchemy into every command, `disambig cluster` too.
    cache_mentions: int = field(
        default=200_000,
        metadata=_meta(
            "Stored mentions kept parsed and indexed in memory per server process (about 4 KB each),"
            " the least recently used name blocks dropped first.",
            _integer(0, 100_000_000),
        ),
    )
    warm_up_seconds: float = field(
        default=30.0,
        metadata=_meta(
            "At start, time spent loading the largest name blocks before taking calls (0 = none).", _number(0, 3600)
        ),
    )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


SETTINGS = tuple(f.name for f in fields(Settings))
PATH_SETTINGS = ("model", "tls_cert", "tls_key", "tls_client_ca", "auth_tokens")


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse(name: str, raw: object, source: str) -> Any:
    parse = next(f for f in fields(Settings) if f.name == name).metadata["parse"]
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(name, source, str(exc)) from None


def read_config_file(path: Path) -> dict[str, tuple[Any, str]]:
    """Values of a TOML file by setting name, each with its source; relative paths resolved
    against the file's directory."""
    source = f"file {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError("config", source, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("config", source, f"cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("config", source, f"not valid TOML ({exc})") from None
    values: dict[str, tuple[Any, str]] = {}
    for key, raw in data.items():
        if key not in SETTINGS:
            raise SettingsError(key, source, f"unknown setting (known: {', '.join(SETTINGS)})")
        value = _parse(key, raw, source)
        if key in PATH_SETTINGS and value is not None and not value.is_absolute():
            value = path.parent / value
        values[key] = (value, source)
    return values


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config: Path | str | None = None,
) -> tuple[Settings, dict[str, str]]:
    """The effective settings and where each value came from (flag > env > file > default).

    flags: values given on the command line (None = not given); config: the TOML file, else
    $DISAMBIG_CONFIG, else none. Nothing is checked on disk here: see check().
    """
    flags = flags or {}
    environ = os.environ if environ is None else environ
    config_path = config if config not in (None, "") else environ.get(ENV_CONFIG) or None
    from_file = read_config_file(Path(config_path)) if config_path else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SETTINGS:
        if flags.get(name) is not None:
            source = f"flag {flag_name(name)}"
            values[name], sources[name] = _parse(name, flags[name], source), source
        elif env_name(name) in environ:
            source = f"env {env_name(name)}"
            values[name], sources[name] = _parse(name, environ[env_name(name)], source), source
        elif name in from_file:
            values[name], sources[name] = from_file[name]
        else:
            sources[name] = "default"
    return Settings(**values), sources


def _span(ports: range) -> str:
    return str(ports[0]) if len(ports) == 1 else f"{ports[0]}-{ports[-1]}"


def check(settings: Settings, sources: Mapping[str, str] | None = None) -> Settings:
    """Cross-field rules and the files named: raises SettingsError on the first problem."""
    where = dict.fromkeys(SETTINGS, "default") | dict(sources or {})

    def fail(name: str, message: str) -> SettingsError:
        return SettingsError(name, where[name], message)

    if settings.tls_key is not None and settings.tls_cert is None:
        raise fail("tls_cert", "required when tls_key is set")
    if settings.tls_cert is not None and settings.tls_key is None:
        raise fail("tls_key", "required when tls_cert is set")
    if settings.tls_client_ca is not None and settings.tls_cert is None:
        raise fail("tls_client_ca", "mutual TLS needs tls_cert and tls_key too")
    for name in PATH_SETTINGS:
        path: Path | None = getattr(settings, name)
        if path is None:
            continue
        if name == "model":
            if not (path / "model.json").is_file():
                raise fail(name, f"{path} is not a model directory (no model.json)")
        elif not path.is_file():
            raise fail(name, f"{path}: no such file")
    if settings.tls_cert is not None and settings.tls_key is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(settings.tls_cert, settings.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise fail("tls_cert", f"certificate and key do not load as a pair ({exc})") from None
    if settings.tls_client_ca is not None:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(settings.tls_client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise fail("tls_client_ca", f"not a PEM CA certificate ({exc})") from None
    if settings.auth_tokens is not None:
        read_tokens(settings.auth_tokens, where["auth_tokens"])
    metrics_host = settings.metrics_host or settings.host
    # Each server process has its own metrics endpoint: metrics_port, metrics_port + 1, ...
    metrics_ports = range(settings.metrics_port, settings.metrics_port + settings.processes)
    if settings.metrics_port and settings.port in metrics_ports and metrics_host == settings.host:
        raise fail("metrics_port", f"the metrics ports {_span(metrics_ports)} include the gRPC port {settings.port}")
    if settings.metrics_port and metrics_ports[-1] > 65535:
        raise fail("metrics_port", f"{settings.processes} processes need metrics ports up to {metrics_ports[-1]}")
    return settings


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config: Path | str | None = None,
) -> Settings:
    """Resolved and checked settings."""
    settings, sources = resolve_settings(flags, environ, config)
    return check(settings, sources)


def read_tokens(path: Path, source: str = "default") -> dict[str, str]:
    """The tokens file: token -> scope (read or write), TOML or JSON, flat or under `tokens`.

    A key may also be `sha256:HEX`, the digest of the token, so the file need not hold it.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise SettingsError("auth_tokens", source, f"{path}: cannot be read as a tokens file ({exc})") from None
    table = data.get("tokens", data) if isinstance(data, dict) else data
    if not isinstance(table, dict) or not table:
        raise SettingsError("auth_tokens", source, f"{path}: expected a table of token = scope")
    tokens: dict[str, str] = {}
    for number, (token, scope) in enumerate(table.items(), 1):
        # Never echo a token: name its position instead.
        if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
            raise SettingsError("auth_tokens", source, f"{path}: token #{number} is empty or has spaces")
        if token.startswith("sha256:") and not re.fullmatch(r"[0-9a-fA-F]{64}", token.removeprefix("sha256:")):
            raise SettingsError("auth_tokens", source, f"{path}: token #{number}: sha256: needs 64 hex digits")
        if scope not in SCOPES:
            raise SettingsError("auth_tokens", source, f"{path}: token #{number} has scope {scope!r}, not read/write")
        tokens[token] = scope
    return tokens


def render(settings: Settings, sources: Mapping[str, str]) -> str:
    """The settings as TOML (readable back with --config), secrets masked, sources in comments."""
    lines = ["# effective disambig configuration (flag > env > file > default)"]
    for f in fields(Settings):
        value = getattr(settings, f.name)
        mask = f.metadata["mask"]
        if value is None:
            shown = '""'
        elif isinstance(value, str):
            shown = json.dumps(mask(value) if mask else value)
        elif isinstance(value, Path):
            shown = json.dumps(str(value))
        else:
            shown = str(value)
        lines.append(f"{f.name} = {shown}  # {sources.get(f.name, 'default')}")
    return "\n".join(lines) + "\n"


def click_options(func: F) -> F:
    """`--config` and one option per setting, each defaulting to None (= not given on the command line)."""
    import click

    kinds: dict[str, Any] = {
        "port": click.INT,
        "workers": click.INT,
        "processes": click.INT,
        "metrics_port": click.INT,
        "max_message_bytes": click.INT,
        "grace_seconds": click.FLOAT,
        "warm_up_seconds": click.FLOAT,
        "cache_mentions": click.INT,
        "log_format": click.Choice(LOG_FORMATS),
        "log_level": click.Choice(LOG_LEVELS, case_sensitive=False),
    }
    metavars = {"db": "URL", "model": "DIR", "host": "HOST", "metrics_host": "HOST"}
    metavars |= dict.fromkeys(("tls_cert", "tls_key", "tls_client_ca", "auth_tokens"), "FILE")
    defaults = Settings()
    options = [
        click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"TOML file of settings (default: ${ENV_CONFIG}).",
        )
    ]
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        shown = "" if default in (None, "") else f" [default: {default}]"
        options.append(
            click.option(
                flag_name(f.name),
                f.name,
                type=kinds.get(f.name, click.STRING),
                metavar=metavars.get(f.name),
                default=None,
                help=f"{f.metadata['help']} Env {env_name(f.name)}.{shown}",
            )
        )
    for option in reversed(options):
        func = option(func)
    return func
