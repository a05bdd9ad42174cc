"""Running under systemd: readiness, the watchdog and stopping, told through $NOTIFY_SOCKET
(sd_notify's protocol, without libsystemd). Outside systemd every call does nothing."""

import contextlib
import os
import socket


class ServiceManager:
    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with a leading "@".
        self._address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_us = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        watched = watchdog_us.isdigit() and (not pid or pid == str(os.getpid()))
        # Pet the watchdog twice per period, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = int(watchdog_us) / 2e6 if watched else None

    def notify(self, state: str) -> None:
        if not self._address:
            return
        # systemd gone: nothing to tell.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, \
                contextlib.suppress(OSError):
            sock.sendto(state.encode(), self._address)

    def ready(self) -> None:
        self.notify("READY=1\nSTATUS=monitoring")

    def alive(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
