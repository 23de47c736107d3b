"""TLS over real loopback connections, with certificates generated for the test."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from disambig.client import Client
from disambig.v1 import disambig_pb2 as pb

# conftest fixtures: pki, serve


def _get_unknown(remote: Client) -> grpc.StatusCode:
    """A full round trip through the Disambiguator service: NOT_FOUND means it was served."""
    with pytest.raises(grpc.RpcError) as caught:
        remote.stub.GetIdentity(pb.GetIdentityRequest(identity_id="id-none"), timeout=5)
    return caught.value.code()


def test_tls_handshake_and_calls(pki: Any, serve: Any) -> None:
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key) as served:
        with Client(served.target, timeout=5, tls_ca=pki.ca) as remote:
            assert remote.health() == "SERVING"
            assert _get_unknown(remote) == grpc.StatusCode.NOT_FOUND
        # The certificate names localhost too.
        with Client(f"localhost:{served.running.port}", timeout=5, tls_ca=pki.ca) as remote:
            assert remote.health() == "SERVING"


def test_tls_server_refuses_plaintext_and_untrusted_clients_refuse_it(pki: Any, serve: Any) -> None:
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key) as served:
        with Client(served.target, timeout=3) as plaintext, pytest.raises(grpc.RpcError) as caught:
            plaintext.health()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        # A client that trusts another CA does not accept this server.
        with Client(served.target, timeout=3, tls_ca=pki.rogue_ca) as wary, pytest.raises(grpc.RpcError) as caught:
            wary.health()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_requires_a_client_certificate_from_the_ca(pki: Any, serve: Any) -> None:
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca) as served:
        with Client(served.target, timeout=5, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key) as ok:
            assert ok.health() == "SERVING"
            assert _get_unknown(ok) == grpc.StatusCode.NOT_FOUND
        with Client(served.target, timeout=3, tls_ca=pki.ca) as anonymous, pytest.raises(grpc.RpcError) as caught:
            anonymous.health()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        rogue = Client(served.target, timeout=3, tls_ca=pki.ca, tls_cert=pki.rogue_cert, tls_key=pki.rogue_key)
        with rogue, pytest.raises(grpc.RpcError) as caught:
            rogue.health()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
