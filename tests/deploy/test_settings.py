"""Configuration: precedence flag > env > file > default, checks naming the setting, masking."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from disambig.cli import main
from disambig.settings import SETTINGS, Settings, SettingsError, check, env_name, resolve_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    config = write(tmp_path / "disambig.toml", 'port = 1111\nhost = "0.0.0.0"\nworkers = 3\nlog_format = "json"\n')
    env = {"DISAMBIG_PORT": "2222", "DISAMBIG_WORKERS": "5"}
    settings, sources = resolve_settings({"port": 3333}, env, config)
    assert (settings.port, settings.workers, settings.host, settings.log_format) == (3333, 5, "0.0.0.0", "json")
    assert settings.grace_seconds == Settings().grace_seconds
    assert sources["port"] == "flag --port"
    assert sources["workers"] == "env DISAMBIG_WORKERS"
    assert sources["host"] == f"file {config}"
    assert sources["grace_seconds"] == "default"
    assert resolve_settings({"port": None}, env, config)[0].port == 2222  # a flag not given does not count
    assert resolve_settings({}, {}, config)[0].port == 1111
    assert resolve_settings({}, {"DISAMBIG_CONFIG": str(config)})[0].port == 1111  # file from the environment
    assert resolve_settings({}, {})[0] == Settings()


def test_every_setting_has_flag_env_and_file_forms(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(main, ["serve", "--help"], terminal_width=200).output
    for name in SETTINGS:
        assert f"--{name.replace('_', '-')}" in help_text and env_name(name) in help_text, name
    values = {"workers": 2, "metrics_port": 9100, "log_level": "debug", "grace_seconds": 5.5, "db": "sqlite:///x.db"}
    config = write(tmp_path / "c.toml", "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items()))
    settings, _ = resolve_settings({}, {}, config)
    assert {k: getattr(settings, k) for k in values} == values
    from_env, _ = resolve_settings({}, {env_name(k): str(v) for k, v in values.items()})
    assert from_env == settings


def test_relative_paths_in_a_file_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = write(tmp_path / "conf" / "d.toml", 'auth_tokens = "tokens.toml"\ntls_cert = "/abs/cert.pem"\n')
    settings, _ = resolve_settings({}, {}, config)
    assert settings.auth_tokens == tmp_path / "conf" / "tokens.toml"
    assert settings.tls_cert == Path("/abs/cert.pem")


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ([], {"DISAMBIG_PORT": "abc"}, "setting 'port' (env DISAMBIG_PORT): must be an integer"),
        (["--workers", "0"], {}, "setting 'workers' (flag --workers): must be between 1 and 1024"),
        (
            [],
            {"DISAMBIG_LOG_FORMAT": "xml"},
            "setting 'log_format' (env DISAMBIG_LOG_FORMAT): must be one of text, json",
        ),
        ([], {"DISAMBIG_DB": "mysql://x/y"}, "setting 'db' (env DISAMBIG_DB): registry must be sqlite or postgresql"),
        (["--tls-key", "k.pem"], {}, "setting 'tls_cert' (default): required when tls_key is set"),
        (
            ["--tls-cert", "missing.pem", "--tls-key", "missing.key"],
            {},
            "setting 'tls_cert' (flag --tls-cert): missing.pem: no such file",
        ),
        (["--auth-tokens", "nope.toml"], {}, "setting 'auth_tokens' (flag --auth-tokens): nope.toml: no such file"),
        (["--model", "."], {}, "setting 'model' (flag --model): . is not a model directory"),
        (
            ["--metrics-port", "50051"],
            {},
            "setting 'metrics_port' (flag --metrics-port): the metrics ports 50051 include the gRPC port",
        ),
        (
            ["--metrics-port", "50049", "--processes", "3"],
            {},
            "setting 'metrics_port' (flag --metrics-port): the metrics ports 50049-50051 include the gRPC port",
        ),
        (["--processes", "0"], {}, "setting 'processes' (flag --processes): must be between 1 and 64"),
        (
            [],
            {"DISAMBIG_CACHE_MENTIONS": "-1"},
            "setting 'cache_mentions' (env DISAMBIG_CACHE_MENTIONS): must be between 0 and 100000000",
        ),
        (["--config", "absent.toml"], {}, "setting 'config' (file absent.toml): no such file"),
    ],
)
def test_bad_settings_exit_2_naming_the_setting(args: list[str], env: dict[str, str], named: str) -> None:
    runner = CliRunner()
    for command in ("config", "serve"):  # serve stops before loading anything
        result = runner.invoke(main, [command, *args], env=env)
        assert result.exit_code == 2, (command, result.output)
        assert named in result.output, (command, result.output)


def test_file_errors_name_the_file_and_key(tmp_path: Path) -> None:
    typo = write(tmp_path / "typo.toml", "prot = 1\n")
    with pytest.raises(SettingsError, match=r"setting 'prot' \(file .*typo.toml\): unknown setting"):
        resolve_settings({}, {}, typo)
    broken = write(tmp_path / "broken.toml", "port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        resolve_settings({}, {}, broken)
    wrong_type = write(tmp_path / "wrong.toml", "port = true\n")
    with pytest.raises(SettingsError, match=r"setting 'port' \(file .*\): must be an integer, got True"):
        resolve_settings({}, {}, wrong_type)


def test_certificate_and_key_must_match(pki: Any) -> None:
    with pytest.raises(SettingsError, match=r"tls_cert.*do not load as a pair"):
        check(Settings(tls_cert=pki.server_cert, tls_key=pki.client_key))
    check(Settings(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca))


def test_config_prints_the_effective_configuration_masked(tmp_path: Path, pki: Any) -> None:
    config = write(tmp_path / "d.toml", f'workers = 4\ntls_cert = "{pki.server_cert}"\ntls_key = "{pki.server_key}"\n')
    env = {"DISAMBIG_DB": "postgresql+psycopg://disambig:s3cret-pw@postgres:5432/disambig"}
    result = CliRunner().invoke(main, ["config", "--config", str(config), "--port", "6000"], env=env)
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output
    printed = tomllib.loads(result.stdout)
    assert printed["db"] == "postgresql+psycopg://disambig:***@postgres:5432/disambig"
    assert (printed["port"], printed["workers"], printed["tls_cert"]) == (6000, 4, str(pki.server_cert))
    assert printed["tls_client_ca"] == ""  # not set
    assert "port = 6000  # flag --port" in result.stdout
    assert "# env DISAMBIG_DB" in result.stdout and f"workers = 4  # file {config}" in result.stdout
    # What it prints reads back as a config file (the masked password aside).
    write(tmp_path / "again.toml", result.stdout.replace("***", "pw"))
    assert resolve_settings({}, {}, tmp_path / "again.toml")[0].port == 6000


def test_the_cache_setting_defaults_to_the_cache_s_own_capacity() -> None:
    from disambig.settings import Settings
    from disambig.stored_mentions import DEFAULT_CAPACITY

    assert Settings().cache_mentions == DEFAULT_CAPACITY
