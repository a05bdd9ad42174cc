"""Metrics in Prometheus' text format on a local HTTP endpoint (GET /metrics): what a fleet
monitor needs to see that a gateway is well, and never a measured value or a pseudonym."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from edge.local_http import Request, Response, serve


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
        self._listen = listen
        self._collect = collect

    async def run(self) -> None:
        await serve(self._listen, self._answer, "metrics")

    def _answer(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/metrics":
            return Response("200 OK", "text/plain; version=0.0.4",
                            render(self._collect()).encode())
        return Response("404 Not Found", "text/plain", b"not found: GET /metrics\n")
