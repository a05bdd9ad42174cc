from edge.signals.gaps import FrameGapDetector

PERIOD_NS = 1_000_000_000 // 130
SAMPLES = 73


def frame_ends(count: int, start: int = 0) -> list[int]:
    return [(start + i + 1) * SAMPLES * PERIOD_NS for i in range(count)]


def test_contiguous_frames_have_no_gap() -> None:
    detector = FrameGapDetector("strap-01", "ecg")
    assert [detector.add(end, SAMPLES) for end in frame_ends(50)] == [None] * 50


def test_a_dropped_frame_is_reported_with_its_missing_samples() -> None:
    detector = FrameGapDetector("strap-01", "ecg")
    ends = frame_ends(10)
    for end in ends:
        assert detector.add(end, SAMPLES) is None
    gap = detector.add(ends[-1] + 2 * SAMPLES * PERIOD_NS, SAMPLES)
    assert gap is not None
    assert gap.missing_samples == SAMPLES
    assert gap.after_ns == ends[-1]
    assert gap.before_ns == ends[-1] + (SAMPLES + 1) * PERIOD_NS
    # The stream goes on: the next frame joins up again.
    assert detector.add(ends[-1] + 3 * SAMPLES * PERIOD_NS, SAMPLES) is None


def test_clock_jitter_within_a_sample_is_no_gap() -> None:
    detector = FrameGapDetector("strap-01", "ecg")
    for index, end in enumerate(frame_ends(30)):
        assert detector.add(end + (PERIOD_NS // 2 if index % 2 else 0), SAMPLES) is None


def test_a_clock_reset_is_not_a_gap() -> None:
    detector = FrameGapDetector("strap-01", "ecg")
    for end in frame_ends(10):
        detector.add(end, SAMPLES)
    assert [detector.add(end, SAMPLES) for end in frame_ends(10)] == [None] * 10
