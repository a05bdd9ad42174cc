"""The status page over HTTP on `status_page.listen` (loopback unless configured for the LAN).
Nothing but the PIN form is shown without a session; a session comes from the right PIN, and
wrong PINs are slowed down."""

import asyncio
import logging
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.page.pin import check_pin, read_pin
from edge.page.views import (
    DeviceView,
    EventView,
    login_page,
    not_set_up_page,
    patient_page,
    technician_page,
)

log = logging.getLogger(__name__)
_SESSION_S = 12 * 3600
_MAX_FAILURES = 5
_LOCKOUT_S = 60.0
_MAX_BODY = 1024
_COOKIE = "edge_session"


@dataclass(frozen=True)
class PageSources:
    devices: Callable[[], list[DeviceView]]
    events: Callable[[], list[EventView]]
    technician: Callable[[], tuple[list[tuple[str, str, str, str, str]],
                                   list[tuple[str, str]]]]


class StatusPage:
    def __init__(self, listen: str, pin_path: Path, sources: PageSources,
                 silent_after_s: float) -> None:
        host, _, port = listen.rpartition(":")
        self._host, self._port = host, int(port)
        self._pin_path = pin_path
        self._sources = sources
        self._silent_after_s = silent_after_s
        self._sessions: dict[str, float] = {}
        self._failures: list[float] = []

    async def run(self) -> None:
        try:
            server = await asyncio.start_server(self._answer, self._host, self._port)
        except OSError as error:
            log.error("status page: cannot listen on %s:%d (%s)", self._host, self._port,
                      error.strerror)
            return
        async with server:
            await server.serve_forever()

    async def _answer(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            lines = head.decode("latin-1").split("\r\n")
            method, path, *_ = [*lines[0].split(" "), "", ""]
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            length = min(int(headers.get("content-length", "0") or 0), _MAX_BODY)
            body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
            status, extra, page = self._route(method, path.split("?")[0], headers, body)
            data = page.encode()
            writer.write((f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                          f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\n"
                          f"X-Frame-Options: DENY\r\n{extra}Connection: close\r\n\r\n")
                         .encode() + data)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, ValueError):
            pass  # nonsense or a client that left: no answer
        finally:
            writer.close()

    def _route(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> tuple[str, str, str]:
        stored = read_pin(self._pin_path)
        if stored is None:
            return "200 OK", "", not_set_up_page()
        if method == "POST" and path == "/login":
            return self._login(stored, body)
        if not self._has_session(headers.get("cookie", "")):
            return "200 OK", "", login_page()
        if path == "/technician":
            rows, facts = self._sources.technician()
            return "200 OK", "", technician_page(rows, facts)
        if path == "/":
            return "200 OK", "", patient_page(self._sources.devices(), self._sources.events(),
                                              self._silent_after_s)
        return "404 Not Found", "", login_page("There is no such page.")

    def _login(self, stored: str, body: bytes) -> tuple[str, str, str]:
        now = time.monotonic()
        self._failures = [t for t in self._failures if now - t < _LOCKOUT_S]
        if len(self._failures) >= _MAX_FAILURES:
            return "429 Too Many Requests", "", login_page(
                "Too many tries. Please wait a minute and try again.")
        pin = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("pin", [""])[0]
        if not check_pin(pin, stored):
            self._failures.append(now)
            return "200 OK", "", login_page("That PIN is not right. Please try again.")
        token = secrets.token_urlsafe(32)
        self._sessions[token] = time.monotonic() + _SESSION_S
        cookie = f"Set-Cookie: {_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/\r\n"
        return "303 See Other", f"{cookie}Location: /\r\n", ""

    def _has_session(self, cookies: str) -> bool:
        now = time.monotonic()
        self._sessions = {t: until for t, until in self._sessions.items() if until > now}
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == _COOKIE and value in self._sessions:
                return True
        return False
