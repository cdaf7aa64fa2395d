"""Market-data inputs: a UDP socket and, optionally, a Kinesis stream (boto3, guarded)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

# handler(payload, received_ns) applies a payload; the feeds only move bytes.
Handler = Callable[[bytes, int], None]


class UdpFeed:
    def __init__(self, bind: str, port: int, handler: Handler) -> None:
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((bind, port))
        self.sock.settimeout(0.25)  # so the thread notices the stop event
        self.address = "{}:{}".format(*self.sock.getsockname()[:2])
        self.datagrams = 0
        self.thread = threading.Thread(target=self._run, name="udp-feed", daemon=True)

    def start(self, stop: threading.Event) -> None:
        self._stop = stop
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                payload = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                raise
            received = time.perf_counter_ns()
            self.datagrams += 1
            self.handler(payload, received)

    def close(self) -> None:
        self.sock.close()

    def status(self) -> dict:
        return {"bind": self.address, "datagrams": self.datagrams, "alive": self.thread.is_alive()}


class KinesisUnavailable(RuntimeError):
    """boto3 is not importable where the engine runs."""


def _boto3():
    try:
        import boto3  # optional: only the Kinesis feed needs it
    except ImportError as exc:
        raise KinesisUnavailable(
            "feed.kinesis_stream is set but boto3 cannot be imported "
            f"({exc}); install python3-boto3 on the host, or remove kinesis_stream "
            "to read the UDP feed only"
        ) from None
    return boto3


class KinesisFeed:
    """Polls every shard of a stream; credentials come from the environment/instance role."""

    def __init__(
        self,
        stream: str,
        region: str,
        endpoint_url: str | None,
        iterator: str,
        poll_seconds: float,
        handler: Handler,
    ) -> None:
        self.boto3 = _boto3()
        self.stream = stream
        self.region = region
        self.endpoint_url = endpoint_url
        self.iterator = iterator
        self.poll_seconds = poll_seconds
        self.handler = handler
        self.state = "starting"
        self.error: str | None = None
        self.records = 0
        self.shards = 0
        self.thread = threading.Thread(target=self._run, name="kinesis-feed", daemon=True)

    def start(self, stop: threading.Event) -> None:
        self._stop = stop
        self.thread.start()

    def _iterators(self, client) -> dict[str, str]:
        shards = client.list_shards(StreamName=self.stream)["Shards"]
        self.shards = len(shards)
        return {
            s["ShardId"]: client.get_shard_iterator(
                StreamName=self.stream, ShardId=s["ShardId"], ShardIteratorType=self.iterator
            )["ShardIterator"]
            for s in shards
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client = self.boto3.client(
                    "kinesis", region_name=self.region, endpoint_url=self.endpoint_url
                )
                iterators = self._iterators(client)
                self.state, self.error = "reading", None
                while iterators and not self._stop.is_set():
                    for shard, it in list(iterators.items()):
                        out = client.get_records(ShardIterator=it, Limit=1000)
                        received = time.perf_counter_ns()
                        for record in out.get("Records", []):
                            self.records += 1
                            self.handler(record["Data"], received)
                        if out.get("NextShardIterator"):
                            iterators[shard] = out["NextShardIterator"]
                        else:
                            del iterators[shard]  # closed shard
                    self._stop.wait(self.poll_seconds)
            except Exception as exc:  # botocore errors, endpoint down: keep retrying
                self.state, self.error = "error", f"{type(exc).__name__}: {exc}"
                self._stop.wait(1.0)

    def status(self) -> dict:
        return {
            "stream": self.stream,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "state": self.state,
            "error": self.error,
            "shards": self.shards,
            "records": self.records,
        }
