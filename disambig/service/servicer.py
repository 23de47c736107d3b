"""Disambiguator servicer: each RPC decodes, makes one domain call, encodes. No logic here."""

from __future__ import annotations

from collections.abc import Iterator, Sized

import grpc

from disambig.engine import Engine
from disambig.registry import Registry
from disambig.resolving import Resolution, Resolver
from disambig.service.convert import (
    MAX_MENTIONS_PER_REQUEST,
    identity_to_proto,
    mention_to_proto,
    mentions_from_proto,
    resolution_to_proto,
)
from disambig.service.status import RequestTooLarge, mapped, mapped_stream
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

MAX_PAGE_SIZE = 1_000


def _checked(mentions: Sized) -> None:
    if len(mentions) > MAX_MENTIONS_PER_REQUEST:
        raise RequestTooLarge(f"at most {MAX_MENTIONS_PER_REQUEST} mentions a request")


class DisambiguatorServicer(pb_grpc.DisambiguatorServicer):
    def __init__(self, resolver: Resolver, engine: Engine, registry: Registry) -> None:
        self.resolver = resolver
        self.engine = engine
        self.registry = registry

    @mapped
    def Resolve(self, request: pb.ResolveRequest, context: grpc.ServicerContext) -> pb.ResolveResponse:
        _checked(request.mentions)
        resolutions = self.resolver.resolve(mentions_from_proto(request.mentions))
        return pb.ResolveResponse(resolutions=[resolution_to_proto(r) for r in resolutions])

    @mapped_stream
    def ResolveStream(
        self, requests: Iterator[pb.ResolveStreamRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ResolveStreamResponse]:
        for request in requests:
            _checked(request.mentions)
            resolutions = self.resolver.resolve(mentions_from_proto(request.mentions))
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
        record = self.registry.get_identity(request.identity_id)
        mentions, _ = self.registry.list_mentions(record.resolved_id, page_size=MAX_PAGE_SIZE)
        return pb.GetIdentityResponse(identity=identity_to_proto(record, mentions))

    @mapped
    def ListIdentityMentions(
        self, request: pb.ListIdentityMentionsRequest, context: grpc.ServicerContext
    ) -> pb.ListIdentityMentionsResponse:
        size = min(request.page_size or 100, MAX_PAGE_SIZE)
        records, cursor = self.registry.list_mentions(request.identity_id, size, request.page_token or None)
        return pb.ListIdentityMentionsResponse(
            mentions=[mention_to_proto(r) for r in records], next_page_token=cursor or ""
        )

    @mapped
    def MergeIdentities(
        self, request: pb.MergeIdentitiesRequest, context: grpc.ServicerContext
    ) -> pb.MergeIdentitiesResponse:
        survivor = self.registry.merge(list(request.identity_ids), reason=request.reason)
        return pb.MergeIdentitiesResponse(identity=self._identity(survivor))

    @mapped
    def SplitIdentity(
        self, request: pb.SplitIdentityRequest, context: grpc.ServicerContext
    ) -> pb.SplitIdentityResponse:
        kept, new = self.registry.split(request.identity_id, list(request.mention_ids), reason=request.reason)
        return pb.SplitIdentityResponse(remaining=self._identity(kept), split_off=self._identity(new))

    @mapped
    def SearchIdentities(
        self, request: pb.SearchIdentitiesRequest, context: grpc.ServicerContext
    ) -> pb.SearchIdentitiesResponse:
        query_context = None
        if request.HasField("context"):
            context_message = pb.Mention()
            context_message.CopyFrom(request.context)
            context_message.mention_id = context_message.mention_id or "search-context"  # ids are not needed here
            query_context = mentions_from_proto([context_message], "context")[0]
        ranked = self.resolver.search(request.query, query_context, limit=min(request.limit or 10, 100))
        return pb.SearchIdentitiesResponse(
            results=[pb.ScoredIdentity(identity=self._identity(i), score=score) for i, score in ranked]
        )

    def _identity(self, identity_id: str) -> pb.Identity:
        record = self.registry.get_identity(identity_id)
        mentions, _ = self.registry.list_mentions(record.resolved_id, page_size=MAX_PAGE_SIZE)
        return identity_to_proto(record, mentions)
