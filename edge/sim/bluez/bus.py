"""A private D-Bus daemon standing in for the system bus, reachable only through a unix socket in
a temporary folder of its own."""

import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

SYSTEM_BUS_VARIABLE = "DBUS_SYSTEM_BUS_ADDRESS"
INSTALL_HINT = "install it with: sudo apt-get install dbus-daemon"
_SEARCH_PATH = ("/usr/bin", "/bin", "/usr/local/bin")

# Shaped like Debian's system.conf plus BlueZ's bluetooth.conf: method calls are denied unless a
# rule lets them through. Ownership of org.bluez is open to every user, root included, because
# the only way onto this bus is a socket in a folder that only the current user can enter.
_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow own="org.bluez"/>
    <allow send_destination="org.bluez"/>
  </policy>
</busconfig>
"""


class BusError(Exception):
    pass


def find_dbus_daemon() -> str:
    found = shutil.which("dbus-daemon") or shutil.which(
        "dbus-daemon", path=os.pathsep.join(_SEARCH_PATH))
    if found is None:
        raise BusError(f"dbus-daemon is not installed; {INSTALL_HINT}")
    return found


class PrivateSystemBus:
    """A dbus-daemon of our own. Point bleak at it by putting `address` in the
    DBUS_SYSTEM_BUS_ADDRESS environment variable before bleak opens its first connection."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.address = ""

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the daemon and return its address once it accepts connections."""
        self._dir = Path(tempfile.mkdtemp(prefix="edge-dbus-"))
        config = self._dir / "bus.conf"
        config.write_text(_CONFIG.format(socket=self._dir / "system_bus_socket"))
        self._process = subprocess.Popen(
            [find_dbus_daemon(), f"--config-file={config}", "--nofork", "--nopidfile",
             "--nosyslog", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            self.address = self._read_address(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self.address

    def _read_address(self, timeout_s: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        # dbus-daemon prints its address only once it listens, so this line means "ready".
        readable, _, _ = select.select([self._process.stdout], [], [], timeout_s)
        line = self._process.stdout.readline().decode().strip() if readable else ""
        if not line:
            raise BusError(f"dbus-daemon did not start within {timeout_s:.0f} s: "
                           f"{self._stderr_text()}")
        # The guid suffix is only a consistency check; clients do not need it.
        return line.split(",guid=")[0]

    def _stderr_text(self) -> str:
        process = self._process
        if process is None or process.stderr is None or process.poll() is None:
            return "no exit status yet"
        return process.stderr.read().decode(errors="replace").strip()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.address = ""

    def __enter__(self) -> "PrivateSystemBus":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
