"""Disambiguator servicer: each RPC decodes, makes one domain call, encodes. No logic here."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sized

import grpc

from disambig.engine import Engine
from disambig.mention import MAX_NAME_CHARS, Mention
from disambig.registry import Registry
from disambig.registry.feed import POLL_SECONDS, follow
from disambig.resolving import Resolution, Resolver
from disambig.service import checks
from disambig.service.convert import (
    MAX_MENTIONS_PER_REQUEST,
    change_to_proto,
    identity_to_proto,
    mention_from_proto,
    mention_to_proto,
    mentions_from_proto,
    resolution_to_proto,
)
from disambig.service.status import RequestTooLarge, mapped, mapped_stream
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

# A larger page_size or search limit is coerced down to these (AIP-158); a negative one is refused.
MAX_PAGE_SIZE = 1_000
MAX_SEARCH_LIMIT = 100
DEFAULT_CHANGES_LIMIT = 100
# Each WatchChanges stream holds a worker thread while it follows the feed; past this many at
# once a new one is refused (RESOURCE_EXHAUSTED) so that the other RPCs keep their workers.
MAX_WATCHERS = 4


def _checked(items: Sized, what: str = "mentions") -> None:
    if len(items) > MAX_MENTIONS_PER_REQUEST:
        raise RequestTooLarge(f"at most {MAX_MENTIONS_PER_REQUEST} {what} a request")


def _storable(mentions: list[Mention]) -> list[Mention]:
    checks.checked(checks.storable(mentions))
    return mentions


class DisambiguatorServicer(pb_grpc.DisambiguatorServicer):
    def __init__(
        self,
        resolver: Resolver,
        engine: Engine,
        registry: Registry,
        *,
        max_watchers: int = MAX_WATCHERS,
        poll_seconds: float = POLL_SECONDS,
        stopping: threading.Event | None = None,
    ) -> None:
        self.resolver = resolver
        self.engine = engine
        self.registry = registry
        self.max_watchers = max_watchers
        self.poll_seconds = poll_seconds
        self._watch_slots = threading.BoundedSemaphore(max_watchers)
        self._stopping = stopping or threading.Event()

    def stop_watches(self) -> None:
        """End every WatchChanges stream now (call before a graceful server stop, so that open
        streams do not hold the shutdown for its whole grace period)."""
        self._stopping.set()

    @mapped
    def Resolve(self, request: pb.ResolveRequest, context: grpc.ServicerContext) -> pb.ResolveResponse:
        _checked(request.mentions)
        resolutions = self.resolver.resolve(_storable(mentions_from_proto(request.mentions)), context.is_active)
        return pb.ResolveResponse(resolutions=[resolution_to_proto(r) for r in resolutions])

    @mapped_stream
    def ResolveStream(
        self, requests: Iterator[pb.ResolveStreamRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ResolveStreamResponse]:
        for request in requests:
            _checked(request.mentions)
            resolutions = self.resolver.resolve(_storable(mentions_from_proto(request.mentions)), context.is_active)
            yield pb.ResolveStreamResponse(resolutions=[resolution_to_proto(r) for r in resolutions])

    @mapped
    def Cluster(self, request: pb.ClusterRequest, context: grpc.ServicerContext) -> pb.ClusterResponse:
        _checked(request.mentions)
        assignments = self.engine.cluster(mentions_from_proto(request.mentions))
        return pb.ClusterResponse(
            resolutions=[
                resolution_to_proto(Resolution(a.mention_id, a.identity_id, a.confidence, created=False))
                for a in assignments
            ]
        )

    @mapped
    def GetIdentity(self, request: pb.GetIdentityRequest, context: grpc.ServicerContext) -> pb.GetIdentityResponse:
        checks.checked(checks.text(request.identity_id, "identity_id", required=True))
        ((record, mentions),) = self.registry.profiles([request.identity_id], MAX_PAGE_SIZE)
        return pb.GetIdentityResponse(
            identity=identity_to_proto(record, mentions),
            merged_into=record.resolved_id if record.merge_path else "",
            merge_path=list(record.merge_path),
        )

    @mapped
    def ListIdentityMentions(
        self, request: pb.ListIdentityMentionsRequest, context: grpc.ServicerContext
    ) -> pb.ListIdentityMentionsResponse:
        checks.checked(
            checks.text(request.identity_id, "identity_id", required=True),
            checks.not_negative(request.page_size, "page_size"),
        )
        after = checks.page_after(request.page_token, request.identity_id)
        size = min(request.page_size or 100, MAX_PAGE_SIZE)
        records, cursor = self.registry.list_mentions(request.identity_id, size, after)
        return pb.ListIdentityMentionsResponse(
            mentions=[mention_to_proto(r) for r in records],
            next_page_token=checks.page_token(request.identity_id, cursor),
        )

    @mapped
    def MergeIdentities(
        self, request: pb.MergeIdentitiesRequest, context: grpc.ServicerContext
    ) -> pb.MergeIdentitiesResponse:
        _checked(request.identity_ids, "identity ids")
        checks.checked(
            checks.ids(request.identity_ids, "identity_ids", at_least=2), checks.text(request.reason, "reason")
        )
        survivor = self.registry.merge(list(request.identity_ids), reason=request.reason)
        return pb.MergeIdentitiesResponse(identity=self._identity(survivor))

    @mapped
    def SplitIdentity(
        self, request: pb.SplitIdentityRequest, context: grpc.ServicerContext
    ) -> pb.SplitIdentityResponse:
        _checked(request.mention_ids, "mention ids")
        checks.checked(
            checks.text(request.identity_id, "identity_id", required=True),
            checks.ids(request.mention_ids, "mention_ids"),
            checks.text(request.reason, "reason"),
        )
        kept, new = self.registry.split(request.identity_id, list(request.mention_ids), reason=request.reason)
        return pb.SplitIdentityResponse(remaining=self._identity(kept), split_off=self._identity(new))

    @mapped
    def SearchIdentities(
        self, request: pb.SearchIdentitiesRequest, context: grpc.ServicerContext
    ) -> pb.SearchIdentitiesResponse:
        checks.checked(
            checks.text(request.query, "query", required=True, limit=MAX_NAME_CHARS),
            checks.not_negative(request.limit, "limit"),
        )
        query_context = None
        if request.HasField("context"):
            context_message = pb.Mention()
            context_message.CopyFrom(request.context)
            context_message.mention_id = context_message.mention_id or "search-context"  # ids are not needed here
            query_context = mention_from_proto(context_message, "context")
        limit = min(request.limit or 10, MAX_SEARCH_LIMIT)
        ranked = self.resolver.search(request.query, query_context, limit=limit)
        return pb.SearchIdentitiesResponse(
            results=[
                pb.ScoredIdentity(identity=identity_to_proto(record, mentions), score=score)
                for (record, mentions), (_, score) in zip(
                    self.registry.profiles([i for i, _ in ranked], MAX_PAGE_SIZE), ranked, strict=True
                )
            ]
        )

    @mapped
    def ListChanges(self, request: pb.ListChangesRequest, context: grpc.ServicerContext) -> pb.ListChangesResponse:
        checks.checked(checks.not_negative(request.since_seq, "since_seq"), checks.not_negative(request.limit, "limit"))
        limit = min(request.limit or DEFAULT_CHANGES_LIMIT, MAX_PAGE_SIZE)
        changes = self.registry.changes(since=request.since_seq, limit=limit)
        return pb.ListChangesResponse(
            changes=[change_to_proto(c) for c in changes],
            last_seq=changes[-1].seq if changes else request.since_seq,
        )

    @mapped_stream
    def WatchChanges(
        self, request: pb.WatchChangesRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchChangesResponse]:
        checks.checked(checks.not_negative(request.since_seq, "since_seq"))
        if not self._watch_slots.acquire(blocking=False):
            raise RequestTooLarge(f"at most {self.max_watchers} WatchChanges streams at once; try again later")
        try:
            feed = follow(
                self.registry,
                request.since_seq,
                context.is_active,
                stop=self._stopping,
                poll_seconds=self.poll_seconds,
            )
            for change in feed:
                yield pb.WatchChangesResponse(change=change_to_proto(change))
        finally:
            self._watch_slots.release()

    def _identity(self, identity_id: str) -> pb.Identity:
        ((record, mentions),) = self.registry.profiles([identity_id], MAX_PAGE_SIZE)
        return identity_to_proto(record, mentions)
