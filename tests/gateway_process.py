"""Runs `python -m edge run` as a real child process, as systemd would."""

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def write_config(path: Path, port: int, *, period_s: int = 1, malformed_every: int = 0,
                 episodes: str = "", min_duration_s: float = 1.0, extra: str = "") -> Path:
    """A gateway with one simulated strap; `extra` adds top-level tables at the end."""
    path.write_text(f"""
[gateway]
id = "gw-test"
data_dir = "data"

[uplink]
port = {port}
plaintext = true
reconnect_max_s = 1

[summary]
period_s = {period_s}

[detect.heart_rate]
high_bpm = 120
min_duration_s = {min_duration_s}

[[devices]]
id = "strap-01"
patient = "patient-0001"

[devices.simulation]
resting_bpm = 70
malformed_every = {malformed_every}
{episodes}
{extra}
""")
    return path


class GatewayProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.log_path = config.with_suffix(".log")
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    @property
    def outbox_path(self) -> Path:
        return self.config.parent / "data" / "outbox.db"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        self._log.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=15)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text()


def outbox_state(path: Path) -> dict[str, Any]:
    """What the outbox database holds: pending messages and each stream's last number (none
    while the gateway is still creating it)."""
    try:
        with sqlite3.connect(path) as db:
            pending = db.execute("SELECT count(*) FROM message").fetchone()[0]
            streams = dict(db.execute("SELECT name, last_seq FROM stream").fetchall())
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return {"pending": 0, "streams": {}}
    return {"pending": pending, "streams": streams}


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
