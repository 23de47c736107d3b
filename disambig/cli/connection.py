"""How a command reaches a server: one set of connection options (bearer token, TLS) for every
command with --target, the client they open, and a refused call as one line naming its status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from disambig.cli.app import F
from disambig.errors import DisambigError, ServiceError

if TYPE_CHECKING:
    from disambig.client import Client

# The parameter names connection_options adds: what a command passes on to connect().
CONNECTION_PARAMETERS = ("token", "tls", "tls_ca", "tls_cert", "tls_key", "tls_server_name")


def connection_options(func: F) -> F:
    """Options of commands that call a server: bearer token and TLS."""
    pem = click.Path(exists=True, dir_okay=False, path_type=Path)
    options = [
        click.option(
            "--token",
            envvar="DISAMBIG_TOKEN",
            show_envvar=True,
            help="Bearer token (prefer the variable: flags show in ps).",
        ),
        click.option("--tls", is_flag=True, help="Use TLS, trusting the system's root certificates."),
        click.option(
            "--tls-ca",
            type=pem,
            envvar="DISAMBIG_CLIENT_TLS_CA",
            show_envvar=True,
            help="Use TLS, trusting this CA (PEM).",
        ),
        click.option(
            "--tls-cert",
            type=pem,
            envvar="DISAMBIG_CLIENT_TLS_CERT",
            show_envvar=True,
            help="Client certificate (mutual TLS).",
        ),
        click.option(
            "--tls-key", type=pem, envvar="DISAMBIG_CLIENT_TLS_KEY", show_envvar=True, help="Client certificate's key."
        ),
        click.option(
            "--tls-server-name",
            envvar="DISAMBIG_CLIENT_TLS_SERVER_NAME",
            show_envvar=True,
            help="Name the server certificate must carry, if not the target's host.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def connect(target: str, connection: dict[str, Any], timeout: float = 60.0) -> Client:
    """A disambig.client.Client for target with the options of connection_options."""
    from disambig.client import Client

    if (connection.get("tls_cert") is None) != (connection.get("tls_key") is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    return Client(target, timeout, **connection)


def call_error(target: str, exc: Exception) -> DisambigError:
    """A call the server refused (a grpc.RpcError) as the one-line error the commands print,
    `TARGET: STATUS: details`: exit code 2 when the input was bad (INVALID_ARGUMENT), else 1
    (UNAVAILABLE, UNAUTHENTICATED, NOT_FOUND, ...)."""
    import grpc

    if not isinstance(exc, grpc.Call):
        return ServiceError(f"{target}: {exc}")
    message = f"{target}: {exc.code().name}: {exc.details()}"
    return DisambigError(message) if exc.code() == grpc.StatusCode.INVALID_ARGUMENT else ServiceError(message)


@contextmanager
def reporting_call_errors(target: str) -> Iterator[None]:
    """A call the server refuses ends the command (under fail_cleanly) with call_error's line."""
    import grpc

    try:
        yield
    except grpc.RpcError as exc:
        raise call_error(target, exc) from exc
