import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edge.records.wfdb import RecordError, read_annotations, read_record

ECG = Path(__file__).resolve().parents[1] / "data" / "ecg"
MITDB_EXCERPTS = ("100_60s", "106_780s", "200_1080s")


def header_fields(header: Path) -> list[str]:
    """The fields of the first signal line."""
    lines = [line for line in header.read_text().splitlines() if not line.startswith("#")]
    return lines[1].split()


def copy_record(name: str, suffix: str, destination: Path) -> Path:
    """Copies the header and signal file of an excerpt; returns the header's new path."""
    for extension in (".hea", suffix):
        shutil.copy(ECG / f"{name}{extension}", destination / f"{name}{extension}")
        (destination / f"{name}{extension}").chmod(0o644)
    return destination / f"{name}.hea"


@pytest.mark.parametrize("name", MITDB_EXCERPTS)
def test_a_format_16_record_matches_its_header(name: str) -> None:
    header = ECG / f"{name}.hea"
    record = read_record(header)
    fields = header_fields(header)
    raw = np.fromfile(ECG / f"{name}.dat", dtype="<i2")
    assert record.name == name
    assert record.fs == 360.0
    assert record.gain == 200.0
    assert record.units == "mV"
    assert np.array_equal(record.adc, raw)
    assert record.adc[0] == int(fields[5])
    assert (int(raw.sum(dtype=np.int64)) + 32768) % 65536 - 32768 == int(fields[6])
    assert record.signal_mv.dtype == np.float64
    assert np.allclose(record.signal_mv, raw / 200.0)


def test_a_matlab_record_skips_its_24_byte_header() -> None:
    record = read_record(ECG / "A00001.hea")
    raw = np.fromfile(ECG / "A00001.mat", dtype="<i2", offset=24)
    assert record.fs == 300.0
    assert record.gain == 1000.0
    assert len(record.adc) == 9000
    assert np.array_equal(record.adc, raw)
    assert np.allclose(record.signal_mv, raw / 1000.0)


def test_a_changed_sample_fails_the_checksum(tmp_path: Path) -> None:
    header = copy_record("100_60s", ".dat", tmp_path)
    signal = tmp_path / "100_60s.dat"
    adc = np.fromfile(signal, dtype="<i2")
    adc[5000] += 1
    adc.tofile(signal)
    with pytest.raises(RecordError, match=r"100_60s\.dat: checksum"):
        read_record(header)
    assert read_record(header, verify=False).adc[5000] == adc[5000]


def test_a_changed_first_sample_contradicts_the_initial_value(tmp_path: Path) -> None:
    header = copy_record("106_780s", ".dat", tmp_path)
    signal = tmp_path / "106_780s.dat"
    adc = np.fromfile(signal, dtype="<i2")
    adc[0] += 7
    adc.tofile(signal)
    with pytest.raises(RecordError, match=r"106_780s\.dat: first sample .* initial value"):
        read_record(header)


def test_a_short_signal_file_is_reported(tmp_path: Path) -> None:
    header = copy_record("100_60s", ".dat", tmp_path)
    signal = tmp_path / "100_60s.dat"
    signal.write_bytes(signal.read_bytes()[:-2])
    with pytest.raises(RecordError, match=r"100_60s\.dat: holds 10799 samples, header says 10800"):
        read_record(header)


def test_a_missing_signal_file_is_reported(tmp_path: Path) -> None:
    header = copy_record("100_60s", ".dat", tmp_path)
    (tmp_path / "100_60s.dat").unlink()
    with pytest.raises(RecordError, match=r"100_60s\.dat: cannot read signal file"):
        read_record(header)


def test_a_missing_header_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match=r"nothing\.hea: cannot read header"):
        read_record(tmp_path / "nothing.hea")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (" 16 200.0(0)/mV", " 212 200.0(0)/mV", r"format '212' is not supported"),
        ("200.0(0)/mV", "two-hundred/mV", r"bad gain field 'two-hundred/mV'"),
        (" 1 360 10800", " 1 fast 10800", r"bad record line"),
        (" 1 360 10800", " 2 360 10800", r"announces 2 signals, header has 1 signal lines"),
    ],
)
def test_a_bad_header_is_reported(tmp_path: Path, old: str, new: str, problem: str) -> None:
    header = copy_record("100_60s", ".dat", tmp_path)
    header.write_text(header.read_text().replace(old, new, 1))
    with pytest.raises(RecordError, match=rf"100_60s\.hea: .*{problem}"):
        read_record(header)


def test_comment_lines_are_skipped(tmp_path: Path) -> None:
    header = copy_record("200_1080s", ".dat", tmp_path)
    header.write_text(
        "# leading comment\n\n" + header.read_text().replace("\n", "\n# between\n", 1)
    )
    assert np.array_equal(read_record(header).adc, read_record(ECG / "200_1080s.hea").adc)


def test_a_matlab_header_of_another_type_is_reported(tmp_path: Path) -> None:
    header = copy_record("A00004", ".mat", tmp_path)
    signal = tmp_path / "A00004.mat"
    data = bytearray(signal.read_bytes())
    data[0] = 0  # matrix type 0: float64
    signal.write_bytes(bytes(data))
    with pytest.raises(RecordError, match=r"A00004\.mat: MATLAB matrix type 0"):
        read_record(header)


@pytest.mark.parametrize("name", MITDB_EXCERPTS)
def test_excerpt_annotations_are_beats_inside_the_record(name: str) -> None:
    annotations = read_annotations(ECG / f"{name}.atr")
    record = read_record(ECG / f"{name}.hea")
    assert len(annotations.samples) == len(annotations.symbols) > 30
    assert set(annotations.symbols) <= {"N", "V"}
    assert np.all(np.diff(annotations.samples) > 0)
    assert annotations.samples[0] >= 0 and annotations.samples[-1] < len(record.adc)
    rr_s = np.diff(annotations.samples) / record.fs
    assert 0.3 < float(np.median(rr_s)) < 1.5


def test_pvc_excerpts_have_ventricular_beats() -> None:
    counts = {
        name: Counter(read_annotations(ECG / f"{name}.atr").symbols) for name in MITDB_EXCERPTS
    }
    assert counts["106_780s"]["V"] > 10
    assert counts["200_1080s"]["V"] > 10
    assert counts["100_60s"]["V"] == 0


def word(code: int, value: int) -> int:
    return code << 10 | value


def test_every_kind_of_annotation_word_is_read(tmp_path: Path) -> None:
    note = b"## time resolution: 360"
    words = [
        # A leading note about the file, as wfdb writes it, then a SKIP back to time 0.
        word(22, 0),
        word(63, len(note)),
        *np.frombuffer(note + b"\0", dtype="<u2").tolist(),
        word(59, 0),
        0xFFFF,
        0xFFFF,
        word(0, 1),
        word(1, 100),
        word(60, 3),  # NUM
        word(61, 2),  # SUB
        word(62, 1),  # CHN
        word(5, 300),
        word(59, 0),
        0x0001,  # SKIP 70,000: high word first
        0x1170,
        word(1, 0),
        word(22, 5),
        word(63, 3),
        *np.frombuffer(b"abc\0", dtype="<u2").tolist(),
        word(8, 1023),
        0,
    ]
    path = tmp_path / "made.atr"
    np.array(words, dtype="<u2").tofile(path)
    annotations = read_annotations(path)
    assert annotations.samples.tolist() == [100, 400, 70400, 70405, 71428]
    assert annotations.symbols == ("N", "V", "N", '"', "A")


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ([word(1, 10), word(50, 3), 0], r"unknown annotation code 50 at byte 2"),
        ([word(1, 10), word(5, 20)], r"ends without the end-of-file marker"),
        ([word(1, 10), word(59, 0), 0x0001], r"SKIP at byte 2 is cut off"),
    ],
)
def test_bad_annotation_files_are_reported(tmp_path: Path, words: list[int], problem: str) -> None:
    path = tmp_path / "bad.atr"
    np.array(words, dtype="<u2").tofile(path)
    with pytest.raises(RecordError, match=rf"bad\.atr: {problem}"):
        read_annotations(path)


def test_an_odd_length_annotation_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.atr"
    path.write_bytes(b"\x00\x04\x00")
    with pytest.raises(RecordError, match=r"odd\.atr: odd length 3"):
        read_annotations(path)
