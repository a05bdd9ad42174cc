"""The gateway's two small local HTTP endpoints (metrics, the status page) share this: listening
on HOST:PORT without failing the gateway when the port is taken, reading one request, and
answering it with `Connection: close`."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
_READ_TIMEOUT_S = 5.0
_MAX_BODY_BYTES = 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Response:
    status: str  # "200 OK"
    content_type: str
    body: bytes
    headers: tuple[str, ...] = ()  # extra "Name: value" lines


Handler = Callable[[Request], Response]


async def serve(listen: str, handle: Handler, what: str) -> None:
    """Answer requests on `listen` ("HOST:PORT") until cancelled; a port that cannot be had is
    logged and the gateway runs on without this endpoint."""
    host, _, port = listen.rpartition(":")
    try:
        server = await asyncio.start_server(_answerer(handle), host, int(port))
    except OSError as error:
        log.error("%s: cannot listen on %s (%s); running without it", what, listen,
                  error.strerror)
        return
    async with server:
        await server.serve_forever()


def _answerer(handle: Handler) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                           Awaitable[None]]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response = handle(await _request(reader))
            head = "".join(f"{line}\r\n" for line in (
                f"HTTP/1.1 {response.status}", f"Content-Type: {response.content_type}",
                f"Content-Length: {len(response.body)}", *response.headers,
                "Connection: close"))
            writer.write(f"{head}\r\n".encode() + response.body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, ValueError):
            pass  # a client that sent nonsense or went away gets no answer
        finally:
            writer.close()

    return answer


async def _request(reader: asyncio.StreamReader) -> Request:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
    lines = head.decode("latin-1").split("\r\n")
    method, path, *_ = [*lines[0].split(" "), "", ""]
    headers = {name.strip().lower(): value.strip() for name, _, value in
               (line.partition(":") for line in lines[1:] if line)}
    length = min(int(headers.get("content-length", "0") or 0), _MAX_BODY_BYTES)
    body = (await asyncio.wait_for(reader.readexactly(length), _READ_TIMEOUT_S)
            if length else b"")
    return Request(method, path.split("?")[0], headers, body)
