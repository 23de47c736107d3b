"""`disambig serve --processes N`: N server processes on one port and one registry, stopped as one."""

from __future__ import annotations

import os
import re
import signal
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from serve_support import Served, served

from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

CHANNELS = 24  # connections: the kernel spreads them over the processes (all on one: 2**-23)


class Processes(Served):
    def servers(self) -> list[int]:
        """The server processes (multiprocessing also starts a resource tracker: not a server)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in path.read_text().split()]
        return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


@contextmanager
def serve_processes(tmp_path: Path, *flags: str) -> Iterator[Processes]:
    args = ["--port", "0", "--db", f"sqlite:///{tmp_path / 'r.db'}", *flags]
    env = os.environ | {"DISAMBIG_GRACE_SECONDS": "5", "DISAMBIG_WARM_UP_SECONDS": "0"}
    with served(args, env, tmp_path, seconds=120) as server:
        yield Processes(server.process, server.lines, server.port)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: it only waits for its parent to read its exit code.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def ada(k: int) -> pb.Mention:
    return pb.Mention(
        mention_id=f"ada-{k}",
        name="Ada Lovelace" if k % 2 else "A. Lovelace",
        coauthors=["Charles Babbage", "Mary Somerville", "Augustus De Morgan"],
        title=f"Notes on the analytical engine, part {k}",
        venue="Scientific Memoirs",
        year=1843,
        email="ada@example.org",
    )


def resolutions_counted(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        page = response.read().decode()
    return sum(float(m.group(1)) for m in re.finditer(r"^disambig_resolutions_total\{[^}]*\} (\S+)$", page, re.M))


def test_processes_share_one_port_and_one_registry(tmp_path: Path, free_port: int) -> None:
    """Calls over many connections reach both processes; one new person resolved at once through
    both ends as one identity; SIGTERM stops parent and servers with exit code 0."""
    with serve_processes(tmp_path, "--processes", "2", "--metrics-port", str(free_port)) as served:
        assert "2 processes" in "".join(served.lines)
        children = served.servers()
        assert len(children) == 2
        answers: dict[str, str] = {}
        errors: list[BaseException] = []

        def client(k: int) -> None:
            try:
                # Channels to one target share one connection unless each keeps its own pool.
                own_connection = [("grpc.use_local_subchannel_pool", 1)]
                with grpc.insecure_channel(f"127.0.0.1:{served.port}", options=own_connection) as channel:
                    stub = pb_grpc.DisambiguatorStub(channel)  # type: ignore[no-untyped-call]
                    reply = stub.Resolve(pb.ResolveRequest(mentions=[ada(k)]), timeout=60)
                    answers[reply.resolutions[0].mention_id] = reply.resolutions[0].identity_id
            except BaseException as exc:  # reported by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CHANNELS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(answers) == CHANNELS
        assert len(set(answers.values())) == 1, "one person, one identity, whichever process decided"
        counted = [resolutions_counted(free_port + k) for k in range(2)]
        assert sum(counted) == CHANNELS and min(counted) > 0, counted
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0, "".join(served.lines[-12:])
        assert all(gone(pid) for pid in children)


@pytest.mark.parametrize("victim", [0, 1])
def test_a_server_that_dies_stops_the_others(tmp_path: Path, victim: int) -> None:
    with serve_processes(tmp_path, "--processes", "2") as served:
        children = served.servers()
        os.kill(children[victim], signal.SIGKILL)
        assert served.process.wait(timeout=60) == 1
        assert all(gone(pid) for pid in children)
        assert any("ended (exit code -9): stopping the others" in line for line in served.lines), served.lines
