"""A small reader for PhysioNet WFDB records and MIT annotation files, without the wfdb package.

Supported: a `.hea` header whose first signal is stored in format 16 (16-bit little-endian,
optionally after a byte offset as in `16+24`, which is how MATLAB v4 `.mat` signal files are
described), and `.atr`-style annotation files in the MIT format.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

# WFDB defaults for fields a header leaves out.
_DEFAULT_FS = 250.0
_DEFAULT_GAIN = 200.0
# A MATLAB v4 matrix header is five int32; type 30 is a little-endian int16 numeric matrix.
_MAT4_HEADER = np.dtype(("<i4", 5))
_MAT4_INT16_TYPE = 30

_GAIN_FIELD = re.compile(
    r"^(?P<gain>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)(?:\((?P<baseline>[-+]?[0-9]+)\))?(?:/(?P<units>\S+))?$"
)
_FORMAT_FIELD = re.compile(r"^(?P<format>[0-9]+)(?:\+(?P<offset>[0-9]+))?$")


class RecordError(ValueError):
    """A record or annotation file is missing, malformed or inconsistent with its header."""


@dataclass(frozen=True)
class Record:
    name: str
    fs: float
    # First channel, in physical units: (adc - baseline) / gain.
    signal_mv: npt.NDArray[np.float64]
    adc: npt.NDArray[np.int16]
    gain: float
    units: str


@dataclass(frozen=True)
class Annotations:
    samples: npt.NDArray[np.int64]
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class _SignalSpec:
    file_name: str
    byte_offset: int
    gain: float
    baseline: int
    units: str
    initial_value: int | None
    checksum: int | None


@dataclass(frozen=True)
class _Header:
    name: str
    fs: float
    samples: int | None
    signals: tuple[_SignalSpec, ...]


def read_record(header_path: Path, *, verify: bool = True) -> Record:
    """The first signal of the record described by `header_path` (a `.hea` file).

    With `verify`, the first sample and the checksum must match the header's initial value and
    checksum when it gives them. A few CinC 2017 headers state a wrong initial value (A00013,
    A00044, ...) over an intact signal; read those with `verify=False`.
    """
    header = _read_header(header_path)
    first = header.signals[0]
    in_same_file = sum(1 for spec in header.signals if spec.file_name == first.file_name)
    signal_path = header_path.parent / first.file_name
    adc = _read_format16(signal_path, first.byte_offset, in_same_file, header.samples)
    if verify:
        _check_values(signal_path, adc, first)
    signal_mv = (adc.astype(np.float64) - first.baseline) / first.gain
    return Record(header.name, header.fs, signal_mv, adc, first.gain, first.units)


def _header_lines(header_path: Path) -> list[list[str]]:
    try:
        text = header_path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(f"{header_path}: cannot read header: {error}") from error
    stripped = (line.strip() for line in text.splitlines())
    return [line.split() for line in stripped if line and not line.startswith("#")]


def _read_header(header_path: Path) -> _Header:
    lines = _header_lines(header_path)
    if not lines:
        raise RecordError(f"{header_path}: header has no record line")
    record_line, signal_lines = lines[0], lines[1:]
    name, signal_count, fs, samples = _parse_record_line(header_path, record_line)
    if signal_count < 1 or len(signal_lines) < signal_count:
        raise RecordError(
            f"{header_path}: record line announces {signal_count} signals, "
            f"header has {len(signal_lines)} signal lines"
        )
    signals = tuple(_parse_signal_line(header_path, line) for line in signal_lines[:signal_count])
    return _Header(name, fs, samples, signals)


def _parse_record_line(header_path: Path, fields: list[str]) -> tuple[str, int, float, int | None]:
    if "/" in fields[0]:
        raise RecordError(f"{header_path}: multi-segment records are not supported")
    if len(fields) < 2:
        raise RecordError(f"{header_path}: record line {' '.join(fields)!r} has no signal count")
    try:
        signal_count = int(fields[1])
        # The frequency field may carry a counter frequency and base: "360/180(0)".
        fs = float(re.split(r"[/(]", fields[2])[0]) if len(fields) > 2 else _DEFAULT_FS
        samples = int(fields[3]) if len(fields) > 3 else None
    except ValueError as error:
        raise RecordError(f"{header_path}: bad record line {' '.join(fields)!r}") from error
    if fs <= 0:
        raise RecordError(f"{header_path}: sampling frequency {fs} is not positive")
    return fields[0], signal_count, fs, samples


def _parse_signal_line(header_path: Path, fields: list[str]) -> _SignalSpec:
    where = f"{header_path}: signal line {' '.join(fields)!r}"
    if len(fields) < 2:
        raise RecordError(f"{where} has no format")
    file_name, format_field, optional = fields[0], fields[1], fields[2:]
    storage = _FORMAT_FIELD.match(format_field)
    if storage is None or storage["format"] != "16":
        raise RecordError(f"{where}: format {format_field!r} is not supported (only 16)")
    gain, baseline, units = _parse_gain(where, optional[0] if optional else None)
    try:
        adc_zero = int(optional[2]) if len(optional) > 2 else 0
        initial_value = int(optional[3]) if len(optional) > 3 else None
        checksum = int(optional[4]) if len(optional) > 4 else None
    except ValueError as error:
        raise RecordError(f"{where}: bad ADC zero, initial value or checksum") from error
    return _SignalSpec(
        file_name=file_name,
        byte_offset=int(storage["offset"] or 0),
        gain=gain,
        baseline=adc_zero if baseline is None else baseline,
        units=units,
        initial_value=initial_value,
        # CinC 2017 headers write 0 as a placeholder; a genuine zero checksum (1 in 65,536
        # records) therefore goes unchecked.
        checksum=checksum or None,
    )


def _parse_gain(where: str, field: str | None) -> tuple[float, int | None, str]:
    if field is None:
        return _DEFAULT_GAIN, None, "mV"
    parsed = _GAIN_FIELD.match(field)
    if parsed is None:
        raise RecordError(f"{where}: bad gain field {field!r}")
    gain = float(parsed["gain"]) or _DEFAULT_GAIN
    baseline = int(parsed["baseline"]) if parsed["baseline"] is not None else None
    return gain, baseline, parsed["units"] or "mV"


def _read_format16(
    path: Path, byte_offset: int, interleaved: int, samples: int | None
) -> npt.NDArray[np.int16]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(f"{path}: cannot read signal file: {error}") from error
    if path.suffix == ".mat":
        _check_mat4_header(path, data, byte_offset, interleaved, samples)
    payload = len(data) - byte_offset
    frame_bytes = 2 * interleaved
    if payload < 0 or payload % frame_bytes:
        raise RecordError(
            f"{path}: {payload} bytes after offset {byte_offset} is not a whole number of "
            f"{frame_bytes}-byte frames"
        )
    if samples is not None and payload // frame_bytes != samples:
        raise RecordError(f"{path}: holds {payload // frame_bytes} samples, header says {samples}")
    frames = np.frombuffer(data, dtype="<i2", offset=byte_offset).reshape(-1, interleaved)
    return frames[:, 0].astype(np.int16)


def _check_mat4_header(
    path: Path, data: bytes, byte_offset: int, interleaved: int, samples: int | None
) -> None:
    if len(data) < _MAT4_HEADER.itemsize or byte_offset < _MAT4_HEADER.itemsize:
        raise RecordError(f"{path}: too short for a MATLAB v4 header before offset {byte_offset}")
    matrix_type, rows, columns, _imaginary, name_length = (
        int(value) for value in np.frombuffer(data, dtype=_MAT4_HEADER, count=1)[0]
    )
    if matrix_type != _MAT4_INT16_TYPE:
        raise RecordError(f"{path}: MATLAB matrix type {matrix_type} is not little-endian int16")
    if _MAT4_HEADER.itemsize + name_length != byte_offset:
        raise RecordError(
            f"{path}: MATLAB header ends at byte {_MAT4_HEADER.itemsize + name_length}, "
            f"the record header says the signal starts at {byte_offset}"
        )
    if samples is not None and rows * columns != samples * interleaved:
        raise RecordError(
            f"{path}: MATLAB matrix is {rows}x{columns}, header says {samples} samples "
            f"of {interleaved} signals"
        )


# Some published headers are wrong over an intact signal (CinC 2017 A00013, A00044, ...).
_INTACT_HINT = "(the signal may be intact: `edge analyze --no-verify` reads it anyway)"


def _check_values(path: Path, adc: npt.NDArray[np.int16], spec: _SignalSpec) -> None:
    if spec.initial_value is not None and adc.size and int(adc[0]) != spec.initial_value:
        raise RecordError(
            f"{path}: first sample is {int(adc[0])}, header initial value is "
            f"{spec.initial_value} {_INTACT_HINT}"
        )
    if spec.checksum is not None:
        checksum = _signed16(int(adc.sum(dtype=np.int64)))
        if checksum != _signed16(spec.checksum):
            raise RecordError(
                f"{path}: checksum is {checksum}, header says {spec.checksum} "
                f"{_INTACT_HINT}"
            )


def _signed16(value: int) -> int:
    return (value + 0x8000) % 0x10000 - 0x8000


# MIT annotation codes (WFDB ecgcodes.h) and their mnemonic symbols.
_SYMBOLS = {
    1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E",
    11: "j", 12: "/", 13: "Q", 14: "~", 16: "|", 18: "s", 19: "T", 20: "*", 21: "D",
    22: '"', 23: "=", 24: "p", 25: "B", 26: "^", 27: "t", 28: "+", 29: "u", 30: "?",
    31: "!", 32: "[", 33: "]", 34: "e", 35: "n", 36: "@", 37: "x", 38: "f", 39: "(",
    40: ")", 41: "r",
}  # fmt: skip
_NOT_QRS, _SKIP, _NUM, _SUB, _CHN, _AUX = 0, 59, 60, 61, 62, 63


def read_annotations(path: Path) -> Annotations:
    """Annotation times (sample indices) and symbols from an MIT-format annotation file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(f"{path}: cannot read annotations: {error}") from error
    if len(data) % 2:
        raise RecordError(f"{path}: odd length {len(data)}; annotations are 16-bit words")
    samples, symbols, notes = _parse_annotation_words(path, np.frombuffer(data, dtype="<u2"))
    # Notes starting "## " (time resolution, label definitions) describe the file, not the signal.
    kept = [i for i, note in enumerate(notes) if not (symbols[i] == '"' and note.startswith("## "))]
    return Annotations(
        np.array([samples[i] for i in kept], dtype=np.int64), tuple(symbols[i] for i in kept)
    )


def _parse_annotation_words(
    path: Path, words: npt.NDArray[np.uint16]
) -> tuple[list[int], list[str], list[str]]:
    samples: list[int] = []
    symbols: list[str] = []
    notes: list[str] = []
    time = 0
    index = 0
    while index < len(words):
        code, value = int(words[index]) >> 10, int(words[index]) & 0x3FF
        index += 1
        if code == 0 and value == 0:
            return samples, symbols, notes
        if code == _SKIP:
            time += _skip_interval(path, words, index)
            index += 2
        elif code == _AUX:
            if notes:
                notes[-1] = words[index:].tobytes()[:value].decode("latin-1")
            index += (value + 1) // 2
        elif code == _NOT_QRS:
            time += value
        elif code in _SYMBOLS:
            time += value
            samples.append(time)
            symbols.append(_SYMBOLS[code])
            notes.append("")
        elif code not in (_NUM, _SUB, _CHN):
            raise RecordError(f"{path}: unknown annotation code {code} at byte {2 * index - 2}")
    raise RecordError(f"{path}: ends without the end-of-file marker")


def _skip_interval(path: Path, words: npt.NDArray[np.uint16], index: int) -> int:
    if index + 2 > len(words):
        raise RecordError(f"{path}: SKIP at byte {2 * index - 2} is cut off")
    # PDP-11 order: the high 16-bit word first, each word little-endian; the value is signed.
    interval = (int(words[index]) << 16) | int(words[index + 1])
    return interval - (1 << 32) if interval & 0x80000000 else interval
