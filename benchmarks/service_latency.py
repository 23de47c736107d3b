"""Service latency and throughput (issue 3 targets), client and server on one machine.

    python benchmarks/service_latency.py [--db URL] [--processes N] [--requests 500] [--clients 8] [--seconds 20]

1. Preloads a registry with every mention file of ../shared/data (~33k mentions), through the
   resolver in large requests (skipped when --db already holds them, e.g. a second run on the same
   PostgreSQL database; --fresh empties nothing, use a new database instead).
2. Starts `disambig serve --db URL --processes N` (default: one server process per core) on a
   free loopback port.
3. Latency: --requests single-mention Resolve calls, one after another. Each probe is a copy of a
   stored mention (same name and context, a new mention_id): a new record of a known author,
   sampled over all files, so big name blocks are hit as often as the data holds them.
4. Search: --searches SearchIdentities calls, one after another, for the names of sampled
   mentions: a third by name, a third by name with the mention as context, a third by its
   surname alone with the mention as context (the widest search: every block of the surname).
5. Throughput: --clients threads, each sending Resolve calls for --seconds: single-mention calls
   by default, as a service calling for each new record does; --mentions-per-call N sends N
   mentions a call, as a batch job streaming a listing does (`disambig client resolve` sends 100).

With psutil installed (the dev extras bring it), the latency and throughput lines also give the
server's CPU time per resolution (all its processes) and its share of a core.

Targets: p50 <= 5 ms, p99 <= 30 ms, >= 500 mentions/s with 8 clients.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
from threadpoolctl import threadpool_limits

from disambig.client import mention_to_proto
from disambig.mention import Mention
from disambig.model import load_model
from disambig.names import parse_name
from disambig.readers import read_mentions
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MENTION_FILES = ("aminer110", "citeseerx_kim", "qian_dblp_dev", "inspire_wang")


def corpus(data: Path) -> list[list[Mention]]:
    """The mentions of each file, ids prefixed by the file so they stay unique."""
    return [
        [replace(m, mention_id=f"{stem}/{m.mention_id}") for m in read_mentions(data / f"{stem}.jsonl.gz")]
        for stem in MENTION_FILES
    ]


def preload(db_url: str, files: list[list[Mention]]) -> float:
    """One request per file: the blocks of a file are clustered as a batch where they are new."""
    registry = Registry(db_url)
    registry.migrate()
    try:
        if registry.stored([files[-1][-1].mention_id]):
            return 0.0
        resolver = Resolver(load_model(), registry)
        started = time.perf_counter()
        for mentions in files:
            resolver.resolve(mentions)
        return time.perf_counter() - started
    finally:
        registry.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, port: int, processes: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "disambig.cli", "serve", "--port", str(port), "--db", db_url]
    command += ["--processes", str(processes)]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
    return server


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time so far of the server and its worker processes (None without psutil).
    On a machine whose speed drifts, a change's CPU a call is steadier than its wall-clock rate."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def cpu_note(before: float | None, after: float | None, calls: int, wall: float) -> str:
    if before is None or after is None or not calls:
        return ""
    used = after - before
    return f"  server CPU {used / calls * 1000:.2f} ms a resolution ({used / wall * 100:.0f}% of a core)"


def probes(mentions: list[Mention], count: int, seed: int, tag: str) -> list[pb.Mention]:
    rng = random.Random(seed)
    chosen = rng.sample(mentions, count)
    return [mention_to_proto(replace(m, mention_id=f"probe-{tag}-{k}")) for k, m in enumerate(chosen)]


def latency(stub: pb_grpc.DisambiguatorStub, messages: list[pb.Mention]) -> np.ndarray:
    times = []
    for message in messages:
        started = time.perf_counter()
        stub.Resolve(pb.ResolveRequest(mentions=[message]), timeout=30)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000.0


def search_latency(stub: pb_grpc.DisambiguatorStub, messages: list[pb.Mention]) -> dict[str, np.ndarray]:
    times: dict[str, list[float]] = {"name": [], "name + context": [], "surname + context": []}
    for k, message in enumerate(messages):
        kind = list(times)[k % 3]
        query = message.name if kind != "surname + context" else parse_name(message.name).surname
        request = pb.SearchIdentitiesRequest(query=query, limit=10)
        if kind != "name":
            request.context.CopyFrom(message)
        started = time.perf_counter()
        stub.SearchIdentities(request, timeout=30)
        times[kind].append(time.perf_counter() - started)
    return {kind: np.array(t) * 1000.0 for kind, t in times.items()}


def throughput(
    target: str, messages: list[pb.Mention], clients: int, seconds: float, per_call: int = 1
) -> tuple[int, float]:
    """Mentions resolved by `clients` threads sending `per_call` mentions a Resolve, and the wall time."""
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def run(k: int) -> None:
        # Each client its own connection, as separate clients have (channels to one target share
        # one connection by default, which one server process would then serve alone).
        share = messages[k::clients]
        with grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = pb_grpc.DisambiguatorStub(channel)
            for start in range(0, len(share), per_call):
                if time.perf_counter() >= deadline:
                    return
                call = share[start : start + per_call]
                stub.Resolve(pb.ResolveRequest(mentions=call), timeout=30)
                done[k] += len(call)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="registry URL (default: a new SQLite file)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="server processes (default: cores)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--mentions-per-call", type=int, default=1, help="throughput phase (default: 1)")
    parser.add_argument("--searches", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.mentions_per_call < 1:
        print("error: --mentions-per-call must be at least 1", file=sys.stderr)
        return 2
    if not (args.data / "README.md").is_file():
        print(f"error: labelled data not found at {args.data}", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    threadpool_limits(1)  # the preload scores in this process: as the server does, one OpenMP thread
    with tempfile.TemporaryDirectory() as scratch:
        db_url = args.db or f"sqlite:///{Path(scratch) / 'registry.db'}"
        files = corpus(args.data)
        mentions = [m for f in files for m in f]
        seconds = preload(db_url, files)
        print(
            f"registry: {db_url.split('@')[-1]}  mentions: {len(mentions)}  preload: {seconds:.1f} s  "
            f"server processes: {args.processes}"
        )
        port = free_port()
        server = start_server(db_url, port, args.processes)
        try:
            target = f"127.0.0.1:{port}"
            tag = f"{time.time_ns()}"
            with grpc.insecure_channel(target) as channel:
                stub = pb_grpc.DisambiguatorStub(channel)
                # The same blocks twice: first with the server's per-block caches cold (as after a
                # restart), then warm (a server that has been running), each with new mention ids.
                for label, suffix in (("cold", "a"), ("warm", "b")):
                    cpu = server_cpu_seconds(server.pid)
                    times = latency(stub, probes(mentions, args.requests, args.seed, tag + suffix))
                    p50, p99 = np.percentile(times, [50, 99])
                    print(
                        f"single-mention Resolve, {len(times)} calls, caches {label}: p50 {p50:.1f} ms  "
                        f"p99 {p99:.1f} ms  max {times.max():.1f} ms  [targets p50 <= 5: "
                        f"{'PASS' if p50 <= 5 else 'MISS'}, p99 <= 30: {'PASS' if p99 <= 30 else 'MISS'}]"
                        + cpu_note(cpu, server_cpu_seconds(server.pid), len(times), times.sum() / 1000)
                    )
                searched = search_latency(stub, probes(mentions, args.searches, args.seed + 2, tag))
                for kind, times in searched.items():
                    if not len(times):  # --searches 0 (or fewer than the three kinds)
                        continue
                    p50, p99 = np.percentile(times, [50, 99])
                    print(
                        f"SearchIdentities by {kind}, {len(times)} calls: p50 {p50:.1f} ms  p99 {p99:.1f} ms  "
                        f"max {times.max():.1f} ms"
                    )
            pool = probes(mentions, min(len(mentions), 50_000), args.seed + 1, tag + "t")
            cpu = server_cpu_seconds(server.pid)
            count, wall = throughput(target, pool, args.clients, args.seconds, args.mentions_per_call)
            rate = count / wall
            print(
                f"{args.clients} concurrent clients, {args.mentions_per_call} mention(s) a call: "
                f"{count} resolutions in {wall:.1f} s = {rate:.0f} mentions/s  "
                f"[target >= 500: {'PASS' if rate >= 500 else 'MISS'}]"
                + cpu_note(cpu, server_cpu_seconds(server.pid), count, wall)
            )
        finally:
            server.terminate()
            server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
