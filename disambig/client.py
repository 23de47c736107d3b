"""A Python client for the Disambiguator service: mentions in, resolutions out, over gRPC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import grpc

from disambig.mention import Mention
from disambig.registry import Change
from disambig.resolving import Resolution
from disambig.service.channel import open_channel
from disambig.service.convert import change_from_proto, mention_from_proto
from disambig.service.convert import mention_to_proto as record_to_proto
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

STREAM_BATCH = 100


def mention_to_proto(mention: Mention) -> pb.Mention:
    return record_to_proto(mention.to_dict())


def resolution_from_proto(message: pb.Resolution) -> Resolution:
    return Resolution(
        mention_id=message.mention_id,
        identity_id=message.identity_id,
        confidence=message.confidence,
        created=message.created,
        alternatives=tuple((a.identity_id, a.probability) for a in message.alternatives),
        explanation=tuple(message.explanation),
    )


class Client:
    """Calls a disambig server; use as a context manager to close the channel."""

    def __init__(
        self,
        target: str,
        timeout: float = 60.0,
        *,
        token: str | None = None,
        tls: bool = False,
        tls_ca: Path | str | None = None,
        tls_cert: Path | str | None = None,
        tls_key: Path | str | None = None,
        tls_server_name: str | None = None,
    ) -> None:
        """token: sent as `authorization: Bearer TOKEN`; TLS when tls or any tls_* is given
        (tls_ca: trusted roots, else the system's; tls_cert + tls_key: a client certificate)."""
        self.channel = open_channel(
            target,
            token=token,
            tls=tls,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_server_name=tls_server_name,
        )
        self.stub = pb_grpc.DisambiguatorStub(self.channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

    def health(self, service: str = "", timeout: float | None = None) -> str:
        """The server's health status name for service ('' = the whole server), e.g. SERVING."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout or self.timeout)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def resolve(self, mentions: Sequence[Mention]) -> list[Resolution]:
        reply = self.stub.Resolve(
            pb.ResolveRequest(mentions=[mention_to_proto(m) for m in mentions]), timeout=self.timeout
        )
        return [resolution_from_proto(r) for r in reply.resolutions]

    def resolve_stream(self, mentions: Iterable[Mention], batch: int = STREAM_BATCH) -> Iterator[Resolution]:
        """Resolve a long listing through ResolveStream, in order; gRPC flow control paces it."""
        source = iter(mentions)
        chunks = iter(lambda: list(islice(source, batch)), [])
        for resolutions in self.resolve_chunks(chunks):
            yield from resolutions

    def resolve_chunks(self, chunks: Iterable[Sequence[Mention]]) -> Iterator[list[Resolution]]:
        """One ResolveStream request per chunk, and its answer, in order (each stored when answered)."""
        requests = (pb.ResolveStreamRequest(mentions=[mention_to_proto(m) for m in chunk]) for chunk in chunks)
        for reply in self.stub.ResolveStream(requests):
            yield [resolution_from_proto(r) for r in reply.resolutions]

    def get_identity(self, identity_id: str) -> pb.GetIdentityResponse:
        """The identity an id belongs to now: after a merge the survivor, with `merged_into` and
        `merge_path` telling how it was reached. NOT_FOUND for an id never issued."""
        return self.stub.GetIdentity(pb.GetIdentityRequest(identity_id=identity_id), timeout=self.timeout)

    def identity_mentions(self, identity_id: str, page_size: int = 100) -> Iterator[Mention]:
        """Every mention of an identity, in mention id order, paged through ListIdentityMentions."""
        token = ""
        while True:
            request = pb.ListIdentityMentionsRequest(identity_id=identity_id, page_size=page_size, page_token=token)
            reply = self.stub.ListIdentityMentions(request, timeout=self.timeout)
            for message in reply.mentions:
                yield mention_from_proto(message, f"{identity_id} mention")
            token = reply.next_page_token
            if not token:
                return

    def search(self, query: str, context: Mention | None = None, limit: int = 10) -> list[tuple[pb.Identity, float]]:
        """Identities ranked for a name query (and a context mention, if given), with their scores."""
        request = pb.SearchIdentitiesRequest(query=query, limit=limit)
        if context is not None:
            request.context.CopyFrom(mention_to_proto(context))
        reply = self.stub.SearchIdentities(request, timeout=self.timeout)
        return [(hit.identity, hit.score) for hit in reply.results]

    def merge(self, identity_ids: Sequence[str], reason: str = "") -> pb.Identity:
        """Merge identities into one (a must-link every later resolution keeps); the survivor."""
        request = pb.MergeIdentitiesRequest(identity_ids=list(identity_ids), reason=reason)
        return self.stub.MergeIdentities(request, timeout=self.timeout).identity

    def split(self, identity_id: str, mention_ids: Sequence[str], reason: str = "") -> tuple[pb.Identity, pb.Identity]:
        """Move mentions of an identity to a new one (a cannot-link); (what remains, what split off)."""
        request = pb.SplitIdentityRequest(identity_id=identity_id, mention_ids=list(mention_ids), reason=reason)
        reply = self.stub.SplitIdentity(request, timeout=self.timeout)
        return reply.remaining, reply.split_off

    def list_changes(self, since: int = 0, limit: int = 0) -> tuple[list[Change], int]:
        """One page of the change feed after `since` (limit 0: the server's default page) and
        the seq the next page starts after."""
        reply = self.stub.ListChanges(pb.ListChangesRequest(since_seq=since, limit=limit), timeout=self.timeout)
        return [change_from_proto(c) for c in reply.changes], reply.last_seq

    def changes(self, since: int = 0, page: int = 0) -> Iterator[Change]:
        """Every change after `since` committed so far, paged through ListChanges."""
        while True:
            batch, since = self.list_changes(since, page)
            if not batch:
                return
            yield from batch

    def watch_changes(self, since: int = 0) -> ChangeWatch:
        """The feed after `since`, then live (WatchChanges): iterate it; cancel() ends it."""
        return ChangeWatch(self.stub.WatchChanges(pb.WatchChangesRequest(since_seq=since)))


class ChangeWatch:
    """A live WatchChanges stream: iterating yields changes as they come; cancel() (from any
    thread) ends the iteration. Reconnect with the seq of the last change seen to go on."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self.cancelled = False

    def __iter__(self) -> Iterator[Change]:
        try:
            for reply in self._call:
                yield change_from_proto(reply.change)
        except grpc.RpcError as exc:
            if not (self.cancelled and exc.code() == grpc.StatusCode.CANCELLED):
                raise

    def cancel(self) -> None:
        self.cancelled = True
        self._call.cancel()

    def __enter__(self) -> ChangeWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self.cancel()
