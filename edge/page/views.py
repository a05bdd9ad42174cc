"""The pages, as HTML: large type, one column, readable on a phone, no script. Pure functions
of the gateway's state."""

import html
from dataclasses import dataclass

_STYLE = """
body{font-family:system-ui,sans-serif;font-size:1.4rem;line-height:1.5;margin:0 auto;
max-width:40rem;padding:1rem;color:#111;background:#fff}
h1{font-size:1.8rem} .ok{border-left:.5rem solid #2a7;padding-left:.8rem}
.problem{border-left:.5rem solid #c33;padding-left:.8rem;background:#fee}
input,button{font-size:1.4rem;padding:.5rem} table{font-size:1rem;border-collapse:collapse}
td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}
"""


@dataclass(frozen=True)
class DeviceView:
    name: str  # what the patient calls it
    advice: str  # what to do when it is silent
    connected: bool
    silent_s: float | None  # since its last data; None: never
    battery_percent: int | None


@dataclass(frozen=True)
class EventView:
    ago_s: float
    explanation: str


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    return "an hour" if hours == 1 else f"{hours} hours"


def device_sentence(device: DeviceView, silent_after_s: float) -> tuple[bool, str]:
    """(all well, what to tell the patient)."""
    if device.silent_s is None or device.silent_s > silent_after_s or not device.connected:
        since = ("has not sent anything yet" if device.silent_s is None
                 else f"has not sent anything for {_duration(device.silent_s)}")
        return False, f"Your {device.name} {since}: {device.advice}."
    battery = ("" if device.battery_percent is None
               else f" Battery {device.battery_percent}%.")
    return True, (f"Your {device.name} is connected. Last reading "
                  f"{_duration(device.silent_s)} ago.{battery}")


def patient_page(devices: list[DeviceView], events: list[EventView],
                 silent_after_s: float) -> str:
    parts = ["<h1>Your home health monitor</h1>"]
    for device in devices:
        well, sentence = device_sentence(device, silent_after_s)
        parts.append(f'<p class="{"ok" if well else "problem"}">{html.escape(sentence)}</p>')
    parts.append("<h2>Recent news</h2>")
    if not events:
        parts.append("<p>Nothing unusual so far.</p>")
    for event in events:
        parts.append(f"<p>{html.escape(_duration(event.ago_s).capitalize())} ago: "
                     f"{html.escape(event.explanation)}</p>")
    parts.append('<p><a href="/technician">For the technician</a></p>')
    return _page("Your home health monitor", "".join(parts))


def login_page(message: str = "") -> str:
    note = f'<p class="problem">{html.escape(message)}</p>' if message else ""
    return _page("Enter your PIN", (
        "<h1>Your home health monitor</h1>" + note
        + '<form method="post" action="/login"><p><label for="pin">Enter your PIN</label></p>'
          '<p><input id="pin" name="pin" type="password" inputmode="numeric" '
          'autocomplete="off"> <button type="submit">Open</button></p></form>'))


def not_set_up_page() -> str:
    return _page("Not set up", "<h1>Your home health monitor</h1><p>This page is not set up "
                 "yet. Please ask your technician.</p>")


def technician_page(rows: list[tuple[str, str, str, str, str]],
                    facts: list[tuple[str, str]]) -> str:
    table = "".join(f"<tr>{''.join(f'<td>{html.escape(cell)}</td>' for cell in row)}</tr>"
                    for row in rows)
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in facts)
    return _page("Technician view", (
        "<h1>Technician view</h1><table><tr><th>device</th><th>profile</th><th>link</th>"
        f"<th>last data</th><th>battery</th></tr>{table}</table><h2>Gateway</h2>"
        f"<table>{fact_rows}</table><p><a href=\"/\">Patient view</a></p>"))
