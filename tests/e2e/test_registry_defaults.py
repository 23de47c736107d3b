"""Where the registry commands find their registry, as a user runs them: every --db defaults to
$DISAMBIG_DB, then the db of the $DISAMBIG_CONFIG file, then sqlite:///./disambig.db; a command
that reads a registry refuses one that is not there rather than making an empty one; recluster
names the blocks it was asked for and the registry does not hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from disambig.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "haziza.jsonl"  # six mentions, one name block


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test in a folder of its own (where ./disambig.db would be made), with no registry
    variable or config file of the environment it runs in."""
    for name in ("DISAMBIG_DB", "DISAMBIG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def identities(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def filled(path: Path) -> Path:
    """A registry at path holding the example's mentions (resolved with an explicit --db)."""
    done = invoke("resolve", EXAMPLE, "-o", path.with_suffix(".jsonl"), "--db", url(path), "-q")
    assert done.exit_code == 0, done.output
    return path


def db_options(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Option]]:
    """The --db option of each command, but those of `serve` and `config`: theirs is one of the
    server's settings (with --config), read down the same chain by disambig.settings."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from db_options(command, (*path, name))
        options = [param for param in command.params if isinstance(param, click.Option)]
        if any("--config" in option.opts for option in options):
            continue
        for option in options:
            if "--db" in option.opts:
                yield " ".join((*path, name)), option


def test_every_db_option_defaults_through_the_variable_and_the_config_file() -> None:
    found = dict(db_options(main))
    assert set(found) == {"export", "resolve", "recluster", "db load", "db migrate", "db check", "db backup"}
    for name, option in found.items():
        # No default of its own (None): registry_url goes down the chain.
        assert not isinstance(option.default, str), name
        assert "$DISAMBIG_DB" in (option.help or "") and "$DISAMBIG_CONFIG" in (option.help or ""), name


@pytest.mark.parametrize("how", ["variable", "config file"])
def test_registry_commands_use_disambig_db_then_the_config_file(in_empty_folder: Path, how: str) -> None:
    registry = in_empty_folder.parent / "elsewhere.db"
    if how == "variable":
        env = {"DISAMBIG_DB": url(registry)}
    else:
        config = in_empty_folder.parent / "disambig.toml"
        config.write_text(f'db = "{url(registry)}"\nport = 50999\n')
        env = {"DISAMBIG_CONFIG": str(config)}

    resolved = invoke("resolve", EXAMPLE, "-o", "resolved.jsonl", "-q", env=env)
    assert resolved.exit_code == 0, resolved.output
    assert registry.exists()
    exported = invoke("export", "-o", "ids.jsonl", "--with-mentions", env=env)
    assert exported.exit_code == 0, exported.output
    assert identities(Path("ids.jsonl")) and "identities exported" in exported.output
    reclustered = invoke("recluster", env=env)
    assert reclustered.exit_code == 0, reclustered.output
    assert "6 mentions" in reclustered.output
    checked = invoke("db", "check", env=env)
    assert checked.exit_code == 0 and str(registry) in checked.output

    copy = in_empty_folder.parent / "copy.db"
    loaded = invoke("db", "load", "ids.jsonl", env={**env, "DISAMBIG_DB": url(copy)})
    assert loaded.exit_code == 0, loaded.output
    assert copy.exists()
    # The registry named neither by a flag nor by the environment: none made here.
    assert not Path("disambig.db").exists()


def test_the_db_flag_comes_before_the_variable(in_empty_folder: Path) -> None:
    registry = filled(in_empty_folder.parent / "flagged.db")
    env = {"DISAMBIG_DB": url(in_empty_folder.parent / "nowhere.db")}
    exported = invoke("export", "--db", url(registry), "-o", "ids.jsonl", env=env)
    assert exported.exit_code == 0, exported.output
    assert len(identities(Path("ids.jsonl"))) >= 1
    assert not (in_empty_folder.parent / "nowhere.db").exists()


def test_resolve_with_target_reads_no_registry_setting(in_empty_folder: Path) -> None:
    # A config file the registry commands would refuse does not stop a run through a server.
    config = in_empty_folder.parent / "bad.toml"
    config.write_text('db = "mysql://nope"\n')
    run = invoke("resolve", EXAMPLE, "-o", "out.jsonl", "--target", "127.0.0.1:1", env={"DISAMBIG_CONFIG": str(config)})
    assert run.exit_code == 1 and "UNAVAILABLE" in run.output
    refused = invoke("resolve", EXAMPLE, "-o", "out.jsonl", "--target", "127.0.0.1:1", "--db", url(Path("r.db")))
    assert refused.exit_code == 2 and "--db and --target are alternatives" in refused.output


@pytest.mark.parametrize(
    "command", [("recluster",), ("recluster", "--block", "haziza_d"), ("export",), ("db", "check")]
)
def test_commands_reading_a_registry_refuse_a_missing_one_and_make_none(
    in_empty_folder: Path, command: tuple[str, ...]
) -> None:
    default = invoke(*command)
    assert default.exit_code == 2, default.output
    assert "disambig: error: sqlite:///./disambig.db: no registry there" in default.output
    assert list(in_empty_folder.iterdir()) == []
    missing = in_empty_folder.parent / "missing.db"
    named = invoke(*command, env={"DISAMBIG_DB": url(missing)})
    assert named.exit_code == 2 and f"{url(missing)}: no registry there" in named.output
    assert not missing.exists() and list(in_empty_folder.iterdir()) == []


def test_recluster_names_the_blocks_the_registry_does_not_hold(in_empty_folder: Path) -> None:
    registry = url(filled(in_empty_folder.parent / "r.db"))
    runner = CliRunner()
    none = runner.invoke(main, ["recluster", "--db", registry, "--block", "Haziza", "--block", "nobody_x"])
    assert none.exit_code == 2
    assert none.stderr == f"disambig: error: {registry}: no name block 'Haziza', 'nobody_x' there\n"
    assert none.stdout == ""
    some = runner.invoke(main, ["recluster", "--db", registry, "--block", "haziza_d", "--block", "nobody_x"])
    assert some.exit_code == 0, some.output
    assert some.stderr == f"disambig: warning: {registry}: no name block 'nobody_x' there\n"
    assert "6 mentions" in some.stdout
    rekeyed = runner.invoke(main, ["recluster", "--db", registry, "--rekey", "--block", "nobody_x"])
    assert rekeyed.exit_code == 2
    assert rekeyed.stderr == f"disambig: error: {registry}: no name block 'nobody_x' there\n"
    every = runner.invoke(main, ["recluster", "--db", registry])
    assert every.exit_code == 0 and every.stderr == ""


@pytest.mark.parametrize("command", [("recluster",), ("export",), ("db", "check")])
def test_a_file_that_is_no_registry_is_a_one_line_error(in_empty_folder: Path, command: tuple[str, ...]) -> None:
    Path("notes.txt").write_text("not a database\n")
    run = invoke(*command, "--db", "sqlite:///notes.txt")
    assert run.exit_code == 1
    assert run.output == "disambig: error: registry sqlite:///notes.txt: DatabaseError: file is not a database\n"
