"""Fixtures for the deployment tests: certificates made at test time, and real servers started
through the same composition root as `disambig serve` (settings in, interceptors and all)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from disambig.model import PairwiseModel, load_model
from disambig.registry import Registry
from disambig.service.app import RunningService, start_service
from disambig.settings import Settings, check

REPO = Path(__file__).resolve().parents[2]


# -- certificates ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path  # a CA the server does not trust
    rogue_cert: Path
    rogue_key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _builder(subject: str, issuer: str, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], name: str, usage: x509.ObjectIdentifier
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    cert = (
        _builder(name, str(issuer), key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a client
    certificate from another CA."""
    d = tmp_path_factory.mktemp("pki")
    ca, rogue = _ca("disambig test CA"), _ca("rogue CA")
    server_key, server_cert = _leaf(ca, "localhost", ExtendedKeyUsageOID.SERVER_AUTH)
    client_key, client_cert = _leaf(ca, "catalogue", ExtendedKeyUsageOID.CLIENT_AUTH)
    rogue_key, rogue_cert = _leaf(rogue, "intruder", ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        ca=_write_cert(ca[1], d / "ca.pem"),
        server_cert=_write_cert(server_cert, d / "server.pem"),
        server_key=_write_key(server_key, d / "server.key"),
        client_cert=_write_cert(client_cert, d / "client.pem"),
        client_key=_write_key(client_key, d / "client.key"),
        rogue_ca=_write_cert(rogue[1], d / "rogue-ca.pem"),
        rogue_cert=_write_cert(rogue_cert, d / "rogue.pem"),
        rogue_key=_write_key(rogue_key, d / "rogue.key"),
    )


# -- servers --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on now (for the metrics endpoint, where 0 means off)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    target: str
    running: RunningService
    registry: Registry
    settings: Settings


Serve = Callable[..., AbstractContextManager[Served]]


@pytest.fixture
def serve(model: PairwiseModel, tmp_path: Path) -> Serve:
    """serve(**settings) starts a server on 127.0.0.1 (any free port) over a fresh SQLite registry."""

    @contextmanager
    def start(**values: Any) -> Iterator[Served]:
        settings = replace(Settings(host="127.0.0.1", port=0, workers=4, db=f"sqlite:///{tmp_path / 'r.db'}"), **values)
        check(settings)
        registry = Registry(settings.db)
        registry.migrate()
        running = start_service(settings, model, registry)
        try:
            yield Served(f"127.0.0.1:{running.port}", running, registry, settings)
        finally:
            running.stop(None)
            registry.close()

    return start
