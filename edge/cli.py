"""The `edge` command."""

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from edge import __version__
from edge.config import Config, load_config
from edge.demo.broker import BrokerError
from edge.inference import ModelRefused, RuntimeUnavailable
from edge.logs import configure as configure_logging
from edge.outbox.store import OutboxError
from edge.shipped import shipped_dir
from edge.typed_toml import ConfigError, describe_settings

if TYPE_CHECKING:
    from edge.provision.manifest import ProvisionRequest

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
# The recordings beside a checkout of the repository, as the project lays them out.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

log = logging.getLogger("edge")
_Result = TypeVar("_Result")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_format, args.debug)
    try:
        return int(args.command(args))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (BrokerError, OutboxError, RuntimeUnavailable, ModelRefused) as error:
        print(f"edge: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as error:
        if args.debug:
            raise
        print(f"edge: internal error: {type(error).__name__}: {error} "
              "(run again with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="text on standard error (default), or one JSON object per line "
                        "on standard output (for journald)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the gateway")
    run.add_argument("--config", type=Path, required=True, metavar="FILE")
    run.set_defaults(command=_run)

    demo = commands.add_parser(
        "demo", help="run everything on this machine with no config: broker, wearable, gateway")
    demo.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds")
    demo.set_defaults(command=_demo)

    decode = commands.add_parser(
        "decode", help="decode a characteristic value given in hexadecimal, as JSON")
    decode.add_argument("uuid", nargs="?", metavar="UUID", help="e.g. 2a37")
    decode.add_argument("hex", nargs="*", metavar="HEX", help="e.g. 16 48 00 04")
    decode.add_argument("--all", action="store_true",
                        help="read 'UUID HEX' lines from standard input, one JSON line each")
    decode.set_defaults(command=_decode)

    analyze = commands.add_parser(
        "analyze", help="run the gateway's streaming ECG analysis on WFDB recordings")
    analyze.add_argument("records", nargs="+", type=Path, metavar="RECORD.hea")
    analyze.add_argument("--json", action="store_true",
                         help="one JSON object per record and line")
    analyze.add_argument("--no-verify", action="store_true",
                         help="read records whose header disagrees with the signal's first "
                         "sample or checksum")
    analyze.add_argument("--models", type=Path, metavar="DIR",
                         help="model packages (default: the ones that ship)")
    analyze.add_argument("--backend", choices=["auto", "onnx", "litert"], default="auto",
                         help="model runtime (default: LiteRT when installed)")
    analyze.set_defaults(command=_analyze)

    scan = commands.add_parser("scan", help="list nearby Bluetooth LE devices and their profile")
    scan.add_argument("--seconds", type=float, default=10.0, metavar="N",
                      help="how long to listen (default 10)")
    scan.add_argument("--adapter", default="hci0", help="Bluetooth adapter (default hci0)")
    scan.add_argument("--config", type=Path, metavar="FILE",
                      help="mark the devices this gateway's config provisions")
    scan.set_defaults(command=_scan)

    sim = commands.add_parser(
        "sim", help="virtual wearables for test rigs: run a scenario, or score a run",
        description="edge sim --scenario FILE [options] runs a scenario; "
        "edge sim score LOG EVENTS scores a run against the events received at the broker. "
        "See docs/HIL.md.")
    sim.add_argument("score", nargs="*", metavar="score LOG EVENTS",
                     help="score the ground-truth LOG of a run against EVENTS (JSON Lines)")
    sim.add_argument("--scenario", type=Path, metavar="FILE", help="the scenario (TOML)")
    sim.add_argument("--radio", choices=["inprocess", "bluez", "bumble"], default="inprocess",
                     help="inprocess: straight into a gateway in this process (needs --config); "
                     "bluez: the emulated BlueZ (with --config, a gateway in this process "
                     "connects through bleak; without, another process can); bumble: one "
                     "controller per device, see --transport")
    sim.add_argument("--transport", action="append", default=[], metavar="NAME",
                     help="bumble transport of the next device, e.g. usb:0 or "
                     "tcp-client:127.0.0.1:9000 (repeat per device)")
    sim.add_argument("--config", type=Path, metavar="FILE",
                     help="gateway config for a gateway in this process (its devices are "
                     "replaced by the scenario's)")
    sim.add_argument("--truth", type=Path, metavar="LOG",
                     help="write the ground truth here (JSON Lines)")
    sim.add_argument("--speed", type=float, metavar="X",
                     help="override the scenario's speed (only above 1 with --config)")
    sim.add_argument("--json", action="store_true", help="score: print one JSON object")
    sim.set_defaults(command=_sim)

    set_pin = commands.add_parser(
        "set-pin", help="set the status page's PIN (read twice from the terminal or stdin)")
    set_pin.add_argument("--config", type=Path, required=True, metavar="FILE")
    set_pin.set_defaults(command=_set_pin)

    provision = commands.add_parser(
        "provision", help="set up this gateway: broker, certificates, patient, devices; tried, "
        "then written (again: safe)",
        description="Asks for each setting (Enter keeps the one shown), or, with --manifest or "
        "--non-interactive, takes them from the manifest and flags. Checks and installs the "
        "certificates, binds devices (picked from a scan), tries a round trip through the "
        "broker and each device's stream, and only then writes the config, atomically. See "
        "docs/TECHNICIAN.md.")
    provision.add_argument("--config", type=Path, required=True, metavar="FILE",
                           help="the config to write (merged into, when it exists)")
    provision.add_argument("--manifest", type=Path, metavar="FILE",
                           help="the answers in a TOML file (implies --non-interactive)")
    provision.add_argument("--non-interactive", action="store_true",
                           help="ask nothing: take the answers from the flags")
    provision.add_argument("--gateway-id", default="", metavar="ID")
    provision.add_argument("--patient", default="", metavar="PSEUDONYM")
    provision.add_argument("--broker", default="", metavar="HOST[:PORT]")
    provision.add_argument("--plaintext", action="store_true", default=None,
                           help="no TLS: only to a broker on this machine")
    provision.add_argument("--ca", default="", metavar="FILE", help="CA certificates (PEM)")
    provision.add_argument("--cert", default="", metavar="FILE",
                           help="this gateway's client certificate (PEM)")
    provision.add_argument("--key", default="", metavar="FILE", help="its private key (PEM)")
    provision.add_argument("--update-key", default="", metavar="FILE",
                           help="the care team's Ed25519 public key for signed updates")
    provision.add_argument("--data-dir", default="", metavar="DIR")
    provision.add_argument("--device", action="append", default=[], metavar="PROFILE[@ADDRESS]",
                           help="bind a device: the nearest unbound one of PROFILE, or the one "
                           "at ADDRESS (repeat per device)")
    provision.add_argument("--scan-seconds", type=float, default=10.0, metavar="N")
    provision.add_argument("--device-timeout", type=float, default=60.0, metavar="N",
                           help="how long each device may take to stream (default 60 s)")
    provision.add_argument("--no-broker-test", action="store_true")
    provision.add_argument("--no-device-test", action="store_true",
                           help="bind without trying the devices (e.g. at a depot)")
    provision.add_argument("--pin-stdin", action="store_true",
                           help="read the status page's PIN from standard input")
    provision.set_defaults(command=_provision)

    doctor = commands.add_parser(
        "doctor", help="check everything a technician would, with the fix for each problem")
    doctor.add_argument("--config", type=Path, required=True, metavar="FILE")
    doctor.add_argument("--json", action="store_true", help="one JSON object, for fleet tools")
    doctor.set_defaults(command=_doctor)

    bench = commands.add_parser("bench", help="measure speed (figures for docs/BENCHMARKS.md)")
    bench.add_argument("suite", choices=["decode", "inference", "analyze", "uplink"])
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--models", type=Path, metavar="DIR",
                       help="models to time (default: the ones that ship)")
    bench.add_argument("--data", type=Path, metavar="DIR", default=DEFAULT_DATA_DIR,
                       help="recordings, with mitdb/ in it (default: ../shared/data)")
    bench.set_defaults(command=_bench)

    runtimes = commands.add_parser("runtimes", help="list the installed model runtimes")
    runtimes.set_defaults(command=_runtimes)

    config = commands.add_parser("config", help="check or document configuration files")
    config_commands = config.add_subparsers(required=True, metavar="ACTION")
    check = config_commands.add_parser("check", help="report every error in a config file")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(command=_config_check)
    docs = config_commands.add_parser("docs", help="print the reference of every key (Markdown)")
    docs.set_defaults(command=_config_docs)
    return parser


def _run(args: argparse.Namespace) -> int:
    from edge.gateway import Gateway

    config = load_config(args.config)
    gateway = Gateway(config)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("gateway %s started with %d device(s)", config.gateway.id, len(config.devices))
        await gateway.run(stop)

    try:
        asyncio.run(run())
        log.info("gateway stopped; %d message(s) wait in the outbox", gateway.outbox.count())
    finally:
        gateway.close()
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from edge.demo.run import run_demo

    if not args.debug:
        logging.getLogger().setLevel(logging.WARNING)
    run_demo(args.seconds, sys.stdout)
    return EXIT_OK


def _sim(args: argparse.Namespace) -> int:
    if args.score:
        return _sim_score(args)
    if args.scenario is None:
        print("edge sim: give --scenario FILE, or: score LOG EVENTS", file=sys.stderr)
        return EXIT_BAD_INPUT
    from edge.sim.scenario import load_scenario
    from edge.sim.session import run_devices, run_with_gateway

    scenario = load_scenario(args.scenario)
    if args.speed is not None:
        scenario = dataclasses.replace(scenario, speed=args.speed)
    problem = _sim_problem(args, scenario.speed)
    if problem:
        print(f"edge sim: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with contextlib.ExitStack() as files:
        truth = files.enter_context(_private_file(args.truth)) if args.truth else None
        if args.config:
            result = asyncio.run(_until_signalled(run_with_gateway(
                scenario, load_config(args.config), args.radio, truth)))
            if result is None:
                return EXIT_OK
            print(f"scenario {scenario.name!r} done: {result.counters.events} events, "
                  f"{result.counters.decode_errors} decode errors, "
                  f"{result.pending} messages left in the outbox")
        else:
            run = asyncio.run(_until_signalled(run_devices(
                scenario, args.radio, args.transport, truth,
                lambda line: print(line, flush=True))))
            if run is None:
                return EXIT_OK
            print(f"scenario {scenario.name!r} done: {run.counters}")
    return EXIT_OK


async def _until_signalled(work: Coroutine[Any, Any, _Result]) -> _Result | None:
    """`work`, cancelled (so that it cleans up: a private D-Bus, bumble transports) on SIGINT or
    SIGTERM, when the result is None."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return None


def _sim_problem(args: argparse.Namespace, speed: float) -> str | None:
    if args.radio == "inprocess" and args.config is None:
        return "--radio inprocess runs a gateway in this process: give its --config"
    if args.radio == "bumble" and args.config is not None:
        return "--radio bumble serves devices to a gateway elsewhere: drop --config"
    if args.config is None and speed != 1:
        return (f"speed {speed:g}: a gateway in another process keeps real time; only a "
                "gateway in this process (--config) shares the virtual clock")
    return None


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[TextIO]:
    """A new file only its owner can read: ground truth says what happened to a patient."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
    with open(descriptor, "w", encoding="utf-8") as file:
        yield file


def _sim_score(args: argparse.Namespace) -> int:
    from edge.sim.score import ScoreError, describe, score

    if len(args.score) != 3 or args.score[0] != "score":
        print("edge sim: expected: edge sim score LOG EVENTS", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = score(Path(args.score[1]), Path(args.score[2]))
    except ScoreError as error:
        print(f"edge sim score: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result.as_json()) if args.json else describe(result))
    return EXIT_OK if result.passed else EXIT_FAILURE


def _set_pin(args: argparse.Namespace) -> int:
    import getpass

    from edge.page.pin import valid_pin, write_pin

    config = load_config(args.config)
    ask = getpass.getpass if sys.stdin.isatty() else (lambda _: sys.stdin.readline().strip())
    pin, again = ask("New PIN (4 to 12 digits): "), ask("Once more: ")
    if pin != again or not valid_pin(pin):
        print("edge set-pin: the two PINs must match and be 4 to 12 digits", file=sys.stderr)
        return EXIT_BAD_INPUT
    write_pin(config.page_pin_path, pin)
    print(f"PIN set ({config.page_pin_path}, readable by this user only)")
    return EXIT_OK


def _provision(args: argparse.Namespace) -> int:
    from edge.provision.console import Console
    from edge.provision.manifest import load_manifest, overlay
    from edge.provision.session import Options, provision

    if not args.debug:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        flags = provision_flags(args)
        request = overlay(load_manifest(args.manifest), flags) if args.manifest else flags
    except ConfigError as error:
        print(f"{error}\nNothing was written.", file=sys.stderr)
        return EXIT_BAD_INPUT
    options = Options(args.config, request, not (args.manifest or args.non_interactive),
                      args.scan_seconds, args.device_timeout, not args.no_broker_test,
                      not args.no_device_test, args.pin_stdin)
    return provision(options, Console(sys.stdin, sys.stdout))


def provision_flags(args: argparse.Namespace) -> "ProvisionRequest":
    """The flags of `edge provision` as a request, checked like a manifest."""
    from edge.provision.manifest import ProvisionRequest, anchored
    from edge.typed_toml import build

    host, _, port = args.broker.rpartition(":") if ":" in args.broker else (args.broker, "", "")
    devices = [dict(zip(("profile", "address"), d.split("@", 1), strict=False))
               for d in args.device]
    table: dict[str, Any] = {
        "gateway_id": args.gateway_id, "patient": args.patient, "data_dir": args.data_dir,
        "update_key_file": args.update_key, "devices": devices,
        "broker": {"host": host, "port": int(port) if port.isdigit() else 0,
                   "ca_file": args.ca, "cert_file": args.cert, "key_file": args.key}}
    if args.plaintext:
        table["broker"]["plaintext"] = True
    if port and not port.isdigit():
        raise ConfigError("--broker", [f"the port must be a number, got {port!r}"])
    return anchored(build(ProvisionRequest, table, "edge provision's flags"), Path.cwd())


def _doctor(args: argparse.Namespace) -> int:
    """Exit 0 when healthy, 1 when a problem was found."""
    from edge.doctor import as_json, examine, healthy, report

    if not args.debug:
        logging.getLogger().setLevel(logging.WARNING)
    findings = examine(load_config(args.config))
    print(json.dumps(as_json(findings)) if args.json else report(findings))
    return EXIT_OK if healthy(findings) else EXIT_FAILURE


def _decode(args: argparse.Namespace) -> int:
    if args.all:
        results = [decode_line(line) for line in sys.stdin if line.strip()]
        for result in results:
            print(json.dumps(result))
        return EXIT_BAD_INPUT if any("error" in result for result in results) else EXIT_OK
    if args.uuid is None or not args.hex:
        print("edge decode: give UUID and HEX, or --all to read lines from standard input",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    result = decode_line(" ".join([args.uuid, *args.hex]))
    if "error" in result:
        print(f"edge decode: {result['error']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2))
    return EXIT_OK


def decode_line(line: str) -> dict[str, Any]:
    """`UUID HEX` to the decoded value as JSON, or {"error": ...} naming what was wrong."""
    from edge.gatt import DecodeError, decode, to_json

    uuid, _, hex_text = line.strip().partition(" ")
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        return {"error": f"{line.strip()!r}: the value must be hexadecimal bytes"}
    try:
        return to_json(decode(uuid, data))
    except DecodeError as error:
        return {"error": str(error)}


def _analyze(args: argparse.Namespace) -> int:
    from edge.analyze import analyze_file, describe
    from edge.config import ModelSettings
    from edge.detector_models import load_detector_models

    settings = ModelSettings(backend=args.backend)
    models = load_detector_models(settings, args.models or shipped_dir("models")).analysis()
    failed = False
    for header in args.records:
        report = analyze_file(header, models, verify=not args.no_verify)
        failed |= "error" in report
        print(json.dumps(report) if args.json else describe(report), flush=True)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _scan(args: argparse.Namespace) -> int:
    from edge.link.ble.scan import run_scan
    from edge.profiles import configured_profiles

    config = load_config(args.config) if args.config else None
    provisioned = {d.address.upper(): d.id for d in config.devices} if config else {}
    profiles = configured_profiles(config).values()
    try:
        results = run_scan(args.seconds, args.adapter, profiles)
    except Exception as error:
        print(f"edge: cannot scan on {args.adapter}: {error or type(error).__name__} "
              "(is bluetoothd running, and the adapter present and powered?)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{'address':<17}  {'rssi':>4}  {'name':<24}  {'profile':<22}  provisioned as")
    for result in results:
        adv = result.advertisement
        print(f"{adv.address:<17}  {adv.rssi if adv.rssi is not None else '-':>4}  "
              f"{(adv.name or '-')[:24]:<24}  {result.profile.id if result.profile else '-':<22}  "
              f"{provisioned.get(adv.address.upper(), '-')}")
    print(f"{len(results)} device(s) in {args.seconds:g} s")
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    models_dir = args.models or shipped_dir("models")
    if args.suite == "decode":
        from edge.bench.decode import run_decode_benchmark

        result = run_decode_benchmark()
    elif args.suite == "uplink":
        from edge.bench.uplink import run_uplink_benchmark

        result = run_uplink_benchmark()
    elif args.suite == "inference":
        from edge.bench.inference import run_inference_benchmark

        result = run_inference_benchmark(models_dir)
    else:
        from edge.bench.analyze import run_analyze_benchmark
        from edge.config import ModelSettings
        from edge.detector_models import load_detector_models

        models = load_detector_models(ModelSettings(), models_dir)
        result = run_analyze_benchmark(args.data, models)
    print(json.dumps(result, indent=None if args.json else 2))
    return EXIT_OK


def _runtimes(args: argparse.Namespace) -> int:
    from edge.inference import available_runtimes, litert_interpreter_class

    for package, version in available_runtimes().items():
        print(f"{package:<16} {version or 'not installed'}")
    interpreter = litert_interpreter_class()
    print(f"LiteRT interpreter: {interpreter.__module__}.{interpreter.__name__}")
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    from edge.profiles import profiles_for
    from edge.uplink.tls import certificate_warnings, client_context

    config = load_config(args.file)
    profiles_for(config)
    client_context(config)
    warnings = certificate_warnings(config, dt.datetime.now(dt.UTC))
    for warning in warnings:
        print(f"{args.file}: warning: {warning}")
    print(f"{args.file}: OK" if not warnings else f"{args.file}: usable, with warnings")
    return EXIT_OK


def _config_docs(args: argparse.Namespace) -> int:
    print(config_reference())
    return EXIT_OK


def config_reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        "One TOML file, passed as `edge run --config FILE`; `edge config check FILE` reports every",
        "error in it with its key path. Unknown keys are errors. This page is generated by",
        "`edge config docs`; `etc/example.toml` is a working example.",
        "",
        "| key | default | meaning |",
        "| --- | --- | --- |",
    ]
    for key, default, doc in describe_settings(Config):
        shown = f"`{default}`" if default and default != "required" else default or "(table)"
        lines.append(f"| `{key}` | {shown} | {doc} |")
    return "\n".join(lines)
