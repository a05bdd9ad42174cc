"""One run of `edge provision`: ask (or read) → check and install the certificates → scan and
bind the devices → build and validate the new config → try the broker and every device → write
the config, only when everything worked. Nothing is written when a check fails, and running it
again with the same answers leaves every file as it was."""

import asyncio
import dataclasses
import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import BleSettings, Config, config_at, pseudonym
from edge.page.pin import read_pin, valid_pin, write_pin
from edge.profiles import DeviceProfile, configured_profiles, profiles_for
from edge.provision.certificates import check_certificates
from edge.provision.checks import DeviceCheck, broker_round_trip, check_devices
from edge.provision.console import Console, NoAnswer
from edge.provision.files import install, write_atomically
from edge.provision.manifest import BrokerRequest, DeviceRequest, ProvisionRequest
from edge.provision.plan import (
    PlacedFiles,
    Sighting,
    bindings_for,
    merged_config,
    new_device_id,
    plaintext_wanted,
)
from edge.typed_toml import ConfigError, dumps, read_toml
from edge.uplink.tls import client_context, is_loopback

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
_HEADER = ("# Written by `edge provision`; edit freely (`edge config docs` lists every key).\n"
           "# Running `edge provision` again keeps every setting it does not ask about.\n\n")
_DEFAULT_PORT = 8883


@dataclass(frozen=True)
class Options:
    config_path: Path
    request: ProvisionRequest
    interactive: bool
    scan_seconds: float = 10.0
    device_timeout_s: float = 60.0
    test_broker: bool = True
    test_devices: bool = True
    pin_from_stdin: bool = False


def provision(options: Options, console: Console) -> int:
    """Exit 0 when the config was written (or already held all of it), 1 when a check failed
    and nothing was written, 2 when an answer or a file was unusable."""
    try:
        return _provision(options, console)
    except ConfigError as error:
        console.say(f"\n{error}\nNothing was written.")
        return EXIT_BAD_INPUT
    except NoAnswer as error:
        console.say(f"\n{error}. Nothing was written.")
        return EXIT_BAD_INPUT


def _provision(options: Options, console: Console) -> int:
    path = options.config_path
    existing, current = _existing(path)
    if os.geteuid() == 0:
        console.say("Note: running as root, so what this writes belongs to root (mode 0600); "
                    "the gateway runs as its own user: sudo -u edge edge provision …")
    request = _ask_basics(options.request, existing, console) if options.interactive \
        else options.request
    _require(request, existing, str(path))
    given = _given_files(request)
    if not _certificates_usable(request, existing, given, path.parent, console):
        return EXIT_FAILURE
    profiles = configured_profiles(current)
    seen = _scan(options, request, current.ble.adapter if current else BleSettings().adapter,
                 profiles, console)
    if options.interactive:
        request = _pick_devices(request, existing, seen, profiles, console)
    bindings, problems = bindings_for(request.devices, request.patient or _patient(existing),
                                      existing.get("devices", []), seen)
    if problems:
        console.say("\n".join(["", *problems, "Switch each device on (a strap must be worn) "
                               "and keep it within a few metres, then run this again.",
                               "Nothing was written."]))
        return EXIT_FAILURE
    # Tried with the files where they are; installed only once everything worked.
    trial = _config(merged_config(existing, request, bindings, PlacedFiles(
        **{key: str(source.resolve()) for key, source in given.items()})), path)
    pin = _new_pin(options, trial, console)
    if not _checks_pass(options, trial, console):
        console.say("\nNothing was written: fix what is shown above, then run this again.")
        return EXIT_FAILURE
    table = merged_config(existing, request, bindings, _install(given, path.parent))
    config = _config(table, path)
    if pin is not None:
        write_pin(config.page_pin_path, pin)
        console.say(f"PIN set ({config.page_pin_path}, readable by this user only).")
    _write(path, table, config, console)
    return EXIT_OK


def _config(table: dict[str, Any], path: Path) -> Config:
    """The config `table` would be at `path`, checked as the gateway will check it."""
    config = config_at(table, path)
    profiles_for(config)
    client_context(config)
    return config


def _existing(path: Path) -> tuple[dict[str, Any], Config | None]:
    """The config there now, as its table and as a config; it must be valid: it is merged
    into, never thrown away."""
    if not path.exists():
        return {}, None
    table = read_toml(path)
    return table, config_at(table, path)


def _patient(existing: dict[str, Any]) -> str:
    patients = [d.get("patient", "") for d in existing.get("devices", [])]
    return patients[0] if patients else ""


def _ask_basics(request: ProvisionRequest, existing: dict[str, Any],
                console: Console) -> ProvisionRequest:
    uplink = existing.get("uplink", {})
    gateway_id = console.ask("Gateway id", request.gateway_id
                             or existing.get("gateway", {}).get("id", ""), pseudonym)
    patient = console.ask("Patient pseudonym", request.patient or _patient(existing), pseudonym)
    host = console.ask("Broker host", request.broker.host or uplink.get("host", ""))
    port = int(console.ask("Broker port", str(request.broker.port or uplink.get(
        "port", _DEFAULT_PORT)), _port_problem))
    plaintext = is_loopback(host) and console.confirm(
        "No TLS (the broker is on this machine)?", bool(uplink.get("plaintext", False)))
    broker = BrokerRequest(host=host, port=port, plaintext=plaintext)
    if not plaintext:
        ca_file, cert_file, key_file = _ask_tls_files(request.broker, uplink, console)
        broker = dataclasses.replace(broker, ca_file=ca_file, cert_file=cert_file,
                                     key_file=key_file)
    update_key = console.ask(
        "Care team's update key (PEM)", request.update_key_file, _file_problem,
        empty_means=_kept(existing.get("control", {}).get("public_key_file"), "none"))
    return dataclasses.replace(request, gateway_id=gateway_id, patient=patient, broker=broker,
                               update_key_file=update_key)


def _ask_tls_files(given: BrokerRequest, uplink: dict[str, Any],
                   console: Console) -> tuple[str, str, str]:
    configured = uplink.get("tls", {})
    questions = (("ca_file", "CA certificate file (PEM)", "the system's CAs"),
                 ("cert_file", "This gateway's certificate file (PEM)", ""),
                 ("key_file", "Its private key file (PEM)", ""))
    ca_file, cert_file, key_file = (
        console.ask(question, getattr(given, key), _file_problem,
                    empty_means=_kept(configured.get(key), otherwise))
        for key, question, otherwise in questions)
    return ca_file, cert_file, key_file


def _kept(configured: str | None, otherwise: str) -> str:
    return f"keep {configured}" if configured else otherwise


def _port_problem(answer: str) -> str | None:
    return None if answer.isdigit() and 0 < int(answer) < 65536 else "a port is 1 to 65535"


def _file_problem(answer: str) -> str | None:
    return None if answer and Path(answer).expanduser().is_file() else f"no file {answer!r}"


def _require(request: ProvisionRequest, existing: dict[str, Any], source: str) -> None:
    missing = []
    if not (request.gateway_id or existing.get("gateway", {}).get("id")):
        missing.append("the gateway id: --gateway-id, or gateway_id in the manifest")
    if not (request.broker.host or existing.get("uplink", {}).get("host")):
        missing.append("the broker: --broker HOST[:PORT], or [broker] host in the manifest")
    if bool(request.broker.cert_file) != bool(request.broker.key_file):
        missing.append("the client certificate and its key go together: give --cert and --key")
    if missing:
        raise ConfigError(source, [f"missing {what}" for what in missing])


_INSTALLED = {"ca_file": ("tls/ca.pem", 0o644), "cert_file": ("tls/gateway.pem", 0o644),
              "key_file": ("tls/gateway.key", 0o600),
              "update_key_file": ("update-key.pem", 0o644)}


def _given_files(request: ProvisionRequest) -> dict[str, Path]:
    """The files given to install, by config key."""
    named = {"update_key_file": request.update_key_file,
             **{key: getattr(request.broker, key) for key in ("ca_file", "cert_file", "key_file")}}
    return {key: Path(name).expanduser() for key, name in named.items() if name}


def _certificates_usable(request: ProvisionRequest, existing: dict[str, Any],
                         given: dict[str, Path], folder: Path, console: Console) -> bool:
    """Check the certificates (those given, else those configured) and the update key."""
    if "update_key_file" in given:
        from edge.control.signing import UpdateRefused, load_public_key

        try:
            load_public_key(given["update_key_file"])
        except UpdateRefused as error:
            raise ConfigError("--update-key", [str(error)]) from None
    configured = {key: folder / name
                  for key, name in existing.get("uplink", {}).get("tls", {}).items()}
    files = configured | given
    if plaintext_wanted(request, existing) or not {"cert_file", "key_file"} <= files.keys():
        return True
    check = check_certificates(files.get("ca_file"), files["cert_file"], files["key_file"],
                               dt.datetime.now(dt.UTC))
    _report("Certificates", [(f"problem: {p}", False) for p in check.problems]
            + [(f"warning: {w}", True) for w in check.warnings]
            + [(fact, True) for fact in check.facts], console)
    if check.problems:
        console.say("Nothing was installed or written: ask the care team for the right files.")
    return not check.problems


def _install(given: dict[str, Path], folder: Path) -> PlacedFiles:
    placed = {}
    for key, source in given.items():
        name, mode = _INSTALLED[key]
        install(source, folder / name, mode)
        placed[key] = name
    return PlacedFiles(**placed)


def _scan(options: Options, request: ProvisionRequest, adapter: str,
          profiles: dict[str, DeviceProfile], console: Console) -> list[Sighting]:
    if not (options.interactive or any(not d.address for d in request.devices)):
        return []
    from edge.link.ble.scan import scan

    console.say(f"\nScanning for {options.scan_seconds:g} s on {adapter}…")
    try:
        results = asyncio.run(scan(options.scan_seconds, adapter, profiles.values()))
    except Exception as error:  # bleak raises several kinds; all mean the same here
        raise ConfigError(adapter, [f"cannot scan: {error or type(error).__name__} (is "
                                    "bluetoothd running, and the adapter present and "
                                    "powered? `edge doctor` checks)"]) from None
    return [Sighting(r.advertisement.address.upper(), r.profile.id, r.advertisement.name,
                     r.advertisement.rssi) for r in results if r.profile is not None]


def _pick_devices(request: ProvisionRequest, existing: dict[str, Any], seen: Sequence[Sighting],
                  profiles: dict[str, DeviceProfile], console: Console) -> ProvisionRequest:
    bound = {d.get("address", "").upper(): d.get("id") for d in existing.get("devices", [])}
    if not seen:
        console.say("No device with a known profile is advertising nearby.")
        return request
    for number, sighting in enumerate(seen, 1):
        mark = f"  (bound as {bound[sighting.address]})" if sighting.address in bound else ""
        console.say(f"  {number}. {profiles[sighting.profile].name}: {sighting.name or '-'}, "
                    f"{sighting.address}, signal {sighting.rssi} dBm{mark}")
    answer = console.ask("Devices to bind (numbers separated by spaces; Enter: none)", "",
                         lambda a: _choice_problem(a, len(seen)))
    taken = {d.get("id") for d in existing.get("devices", [])}
    chosen = []
    for number in dict.fromkeys(int(n) for n in answer.split()):
        sighting = seen[number - 1]
        suggestion = bound.get(sighting.address) or new_device_id(sighting.profile, taken)
        taken.add(suggestion)
        device_id = console.ask(f"Id for {number}", suggestion, pseudonym)
        chosen.append(DeviceRequest(profile=sighting.profile, address=sighting.address,
                                    id=device_id))
    return dataclasses.replace(request, devices=[*request.devices, *chosen])


def _choice_problem(answer: str, count: int) -> str | None:
    numbers = answer.split()
    if all(n.isdigit() and 1 <= int(n) <= count for n in numbers):
        return None
    return f"give numbers from 1 to {count}, separated by spaces"


def _new_pin(options: Options, config: Config, console: Console) -> str | None:
    """A new PIN for the status page, if one is to be set now."""
    has_pin = read_pin(config.page_pin_path) is not None
    if options.pin_from_stdin:
        pin = console.read_line()
        if _pin_problem(pin):
            raise ConfigError("PIN", ["a PIN is 4 to 12 digits"])
        return pin
    if options.interactive and console.confirm(
            "Change the status page's PIN?" if has_pin else "Set the status page's PIN now?",
            not has_pin):
        return console.ask_secret_twice("PIN for the patient's status page (4 to 12 digits)",
                                        _pin_problem)
    if not has_pin:
        console.say("Note: no status-page PIN yet; the page shows no health data until "
                    "`edge set-pin` sets one.")
    return None


def _pin_problem(pin: str) -> str | None:
    return None if valid_pin(pin) else "a PIN is 4 to 12 digits"


def _checks_pass(options: Options, config: Config, console: Console) -> bool:
    results: list[tuple[str, bool]] = []
    if options.test_broker:
        console.say(f"\nTrying the broker {config.uplink.host}:{config.uplink.port}…")
        reason = broker_round_trip(config)
        results.append((f"broker: {reason}" if reason else "broker: a message went there "
                        "and back" + ("" if config.uplink.plaintext else " over mutual TLS"),
                        reason is None))
    else:
        results.append(("broker: not tried (--no-broker-test)", True))
    ble = [d for d in config.devices if d.link == "ble"]
    if options.test_devices and ble:
        console.say(f"Trying {len(ble)} device(s) for up to {options.device_timeout_s:g} s…")
        started = time.monotonic()
        checks = asyncio.run(check_devices(config, options.device_timeout_s))
        results += [_device_line(check, time.monotonic() - started) for check in checks]
    elif ble:
        results.append((f"{len(ble)} device(s): not tried (--no-device-test)", True))
    _report("Checks", results, console)
    return all(passed for _, passed in results)


def _device_line(check: DeviceCheck, elapsed_s: float) -> tuple[str, bool]:
    name = f"{check.device_id} ({check.profile.name})"
    values = check.received()
    battery = f"; battery {check.battery_percent} %" if check.battery_percent is not None else ""
    errors = f"; {check.decode_errors} undecodable" if check.decode_errors else ""
    if check.passed:
        return f"{name}: connected, set up, {values or 'no reading yet'}{battery}{errors}", True
    if check.set_up:
        return (f"{name}: connected, but nothing on {', '.join(check.silent_streams())} in "
                f"{elapsed_s:.0f} s: {check.profile.advice_when_silent}", False)
    failures = f" (failed: {', '.join(check.failures)})" if check.failures else ""
    return (f"{name}: {check.last_state.value}{failures}: switch it on, "
            f"{check.profile.advice_when_silent}, keep it within a few metres; if the gateway "
            "service is running it holds the connection: stop it first", False)


def _report(title: str, lines: list[tuple[str, bool]], console: Console) -> None:
    if lines:
        console.say(f"\n{title}")
        for line, passed in lines:
            console.say(f"  {'ok  ' if passed else 'FAIL'}  {line}")


def _write(path: Path, table: dict[str, Any], config: Config, console: Console) -> None:
    text = (_HEADER + dumps(table)).encode()
    previous = path.read_bytes() if path.exists() else None
    if previous is not None and previous != text:
        write_atomically(path.with_name(path.name + ".bak"), previous, 0o600)
    changed = write_atomically(path, text, 0o600)
    devices = sum(1 for d in config.devices if d.link == "ble")
    console.say(f"\n{'Config written' if changed else 'Config unchanged'}: {path} "
                f"(gateway {config.gateway.id}, {devices} device(s); readable by this user "
                "only)" + (f"; the previous one is {path.name}.bak" if previous and changed
                           else ""))
    console.say("Next: sudo systemctl restart edge-gateway, then "
                f"edge doctor --config {path}")
