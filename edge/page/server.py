"""The status page over HTTP on `status_page.listen` (loopback unless configured for the LAN).
Nothing but the PIN form is shown without a session; a session comes from the right PIN, and
wrong PINs are slowed down."""

import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.local_http import Request, Response, serve
from edge.page.pin import check_pin, read_pin
from edge.page.views import (
    DeviceView,
    EventView,
    login_page,
    not_set_up_page,
    patient_page,
    technician_page,
)

_SESSION_S = 12 * 3600
_MAX_FAILURES = 5
_LOCKOUT_S = 60.0
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
        self._listen = listen
        self._pin_path = pin_path
        self._sources = sources
        self._silent_after_s = silent_after_s
        self._sessions: dict[str, float] = {}
        self._failures: list[float] = []

    async def run(self) -> None:
        await serve(self._listen, self._answer, "status page")

    def _answer(self, request: Request) -> Response:
        status, extra, page = self._route(request)
        return Response(status, "text/html; charset=utf-8", page.encode(),
                        ("Cache-Control: no-store", "X-Frame-Options: DENY", *extra))

    def _route(self, request: Request) -> tuple[str, tuple[str, ...], str]:
        stored = read_pin(self._pin_path)
        if stored is None:
            return "200 OK", (), not_set_up_page()
        if request.method == "POST" and request.path == "/login":
            return self._login(stored, request.body)
        if not self._has_session(request.headers.get("cookie", "")):
            return "200 OK", (), login_page()
        if request.path == "/technician":
            rows, facts = self._sources.technician()
            return "200 OK", (), technician_page(rows, facts)
        if request.path == "/":
            return "200 OK", (), patient_page(self._sources.devices(), self._sources.events(),
                                              self._silent_after_s)
        return "404 Not Found", (), login_page("There is no such page.")

    def _login(self, stored: str, body: bytes) -> tuple[str, tuple[str, ...], str]:
        now = time.monotonic()
        self._failures = [t for t in self._failures if now - t < _LOCKOUT_S]
        if len(self._failures) >= _MAX_FAILURES:
            return "429 Too Many Requests", (), login_page(
                "Too many tries. Please wait a minute and try again.")
        pin = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("pin", [""])[0]
        if not check_pin(pin, stored):
            self._failures.append(now)
            return "200 OK", (), login_page("That PIN is not right. Please try again.")
        token = secrets.token_urlsafe(32)
        self._sessions[token] = time.monotonic() + _SESSION_S
        return "303 See Other", (f"Set-Cookie: {_COOKIE}={token}; HttpOnly; SameSite=Strict; "
                                 "Path=/", "Location: /"), ""

    def _has_session(self, cookies: str) -> bool:
        now = time.monotonic()
        self._sessions = {t: until for t, until in self._sessions.items() if until > now}
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == _COOKIE and value in self._sessions:
                return True
        return False
