"""The `disambig` command line: thin adapters over the engine, the trainer, the registry and the
service, one module per family of commands. Importing this package registers every command on
`main`."""

from disambig.cli import batch, modelling, registry, remote, server
from disambig.cli.app import main
from disambig.cli.remote import health

__all__ = ["batch", "health", "main", "modelling", "registry", "remote", "server"]
