"""A graceful stop does not wait for open change-feed watches: they end, other calls finish."""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc

from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

GRACE = 120.0


def test_stop_ends_open_watches_instead_of_waiting_out_the_grace(serve: Any) -> None:
    with serve() as served:
        channel = grpc.insecure_channel(served.target)
        stream = pb_grpc.DisambiguatorStub(channel).WatchChanges(pb.WatchChangesRequest(since_seq=0))
        ended = threading.Event()

        def drain() -> None:
            try:
                for _ in stream:
                    pass
            except grpc.RpcError:
                pass
            ended.set()

        threading.Thread(target=drain, daemon=True).start()
        time.sleep(0.5)  # the watch is open and polling
        started = time.monotonic()
        served.running.stop(GRACE)
        # Far below the grace: had the watch held the shutdown, stop() would take GRACE seconds.
        assert time.monotonic() - started < GRACE / 4
        assert ended.wait(10)
        channel.close()
