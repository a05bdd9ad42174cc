"""Metrics in Prometheus' text format on a local HTTP endpoint (GET /metrics): what a fleet
monitor needs to see that a gateway is well, and never a measured value or a pseudonym."""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)
_MAX_REQUEST_BYTES = 8192
_READ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: tuple[tuple[str, float], ...]  # (labels such as '{class="alert"}' or "", value)


def render(metrics: Iterable[Metric]) -> str:
    lines = []
    for metric in metrics:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
        lines += [f"{metric.name}{labels} {value:g}" for labels, value in metric.samples]
    return "\n".join(lines) + "\n"


class MetricsServer:
    def __init__(self, listen: str, collect: Callable[[], Iterable[Metric]]) -> None:
        host, _, port = listen.rpartition(":")
        self._host, self._port = host, int(port)
        self._collect = collect

    async def run(self) -> None:
        try:
            server = await asyncio.start_server(self._answer, self._host, self._port)
        except OSError as error:
            log.error("metrics: cannot listen on %s:%d (%s); running without the endpoint",
                      self._host, self._port, error.strerror)
            return
        async with server:
            await server.serve_forever()

    async def _answer(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
            method, path, *_ = [*request[:_MAX_REQUEST_BYTES].split(b" ", 2), b"", b""]
            if method == b"GET" and path.split(b"?")[0] == b"/metrics":
                body = render(self._collect()).encode()
                head = b"200 OK\r\nContent-Type: text/plain; version=0.0.4"
            else:
                body = b"not found: GET /metrics\n"
                head = b"404 Not Found\r\nContent-Type: text/plain"
            writer.write(b"HTTP/1.1 " + head + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            pass  # a client that went away or sent nonsense gets nothing
        finally:
            writer.close()
