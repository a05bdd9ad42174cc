"""A private Mosquitto broker on a free loopback port, for the demo and the tests."""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

INSTALL_HINT = "install it with: sudo apt-get install mosquitto"
_SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


class BrokerError(Exception):
    pass


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or shutil.which(
        "mosquitto", path=os.pathsep.join(_SEARCH_PATH))
    if found is None:
        raise BrokerError(f"the Mosquitto broker is not installed; {INSTALL_HINT}")
    return found


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class BrokerTls:
    """A second, TLS listener that requires client certificates signed by `ca_file`."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    port: int = field(default_factory=free_loopback_port)

    def listener(self) -> str:
        return (f"listener {self.port} 127.0.0.1\n"
                f"cafile {self.ca_file}\ncertfile {self.cert_file}\nkeyfile {self.key_file}\n"
                "require_certificate true\ntls_version tlsv1.2\n")


class LocalMosquitto:
    """Mosquitto on 127.0.0.1, with its persistence in a private folder so that it can be
    stopped and started again on the same port with its queued messages intact; with `tls`,
    also a mutual-TLS listener."""

    def __init__(self, port: int | None = None, workdir: Path | None = None,
                 tls: BrokerTls | None = None, acl_file: Path | None = None) -> None:
        """`acl_file`: a Mosquitto ACL file, to make the broker refuse some publishes."""
        self.host = "127.0.0.1"
        self.port = port or free_loopback_port()
        self.tls = tls
        self._acl = f"acl_file {acl_file}\n" if acl_file else ""
        self._own_dir = workdir is None
        self._dir = workdir or Path(tempfile.mkdtemp(prefix="edge-mosquitto-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._binary = find_mosquitto()

    def start(self, timeout_s: float = 10.0) -> None:
        config = self._dir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self._dir}/\n"
            "log_dest none\n"
            # Started as root, Mosquitto would switch to its own user, who cannot write here.
            f"user {getpass.getuser()}\n"
            + self._acl
            + (self.tls.listener() if self.tls else "")
        )
        self._process = subprocess.Popen(
            [self._binary, "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if \
                    self._process.stderr else ""
                raise BrokerError(f"mosquitto exited at start: {error.strip()}")
            if _accepts(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} "
                          f"within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop gracefully: Mosquitto writes its persistence file on the way out."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: the broker dies at once, as in a power cut, with what it held in memory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "LocalMosquitto":
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
