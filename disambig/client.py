"""A Python client for the Disambiguator service: mentions in, resolutions out, over gRPC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import grpc

from disambig.mention import Mention
from disambig.resolving import Resolution
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

    def __init__(self, target: str, timeout: float = 60.0) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = pb_grpc.DisambiguatorStub(self.channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

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

        def requests() -> Iterator[pb.ResolveStreamRequest]:
            while chunk := list(islice(source, batch)):
                yield pb.ResolveStreamRequest(mentions=[mention_to_proto(m) for m in chunk])

        for reply in self.stub.ResolveStream(requests()):
            yield from (resolution_from_proto(r) for r in reply.resolutions)
