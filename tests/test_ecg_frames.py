import numpy as np

from edge.signals.ecg_frames import EcgFrameStream

FS = 130.2  # a Polar H10's 130 Hz by its own clock
FRAME = 73
PERIOD_NS = 1e9 / FS


def frame_end(index: int) -> int:
    return round((index + 1) * FRAME * PERIOD_NS)


def samples(value: float = 1000.0) -> np.ndarray:
    return np.full(FRAME, value)


def test_the_rate_comes_from_the_device_clock_and_microvolts_become_millivolts() -> None:
    stream = EcgFrameStream()
    assert stream.add(frame_end(0), samples(), 100.0) == []
    first, second = stream.add(frame_end(1), samples(1500.0), 100.56)
    assert stream.fs is not None and abs(stream.fs - FS) < 0.01
    assert first.restarted and not second.restarted
    assert np.allclose(first.samples_mv, 1.0) and np.allclose(second.samples_mv, 1.5)
    assert abs(first.start_s - (100.0 - (FRAME - 1) / FS)) < 1e-9


def test_a_lost_frame_or_a_clock_reset_begins_a_new_stream() -> None:
    stream = EcgFrameStream()
    for index in range(2):
        stream.add(frame_end(index), samples(), 100.0 + index)
    (joined,) = stream.add(frame_end(2), samples(), 102.0)
    (after_loss,) = stream.add(frame_end(4), samples(), 104.0)
    (after_reset,) = stream.add(frame_end(0), samples(), 105.0)
    assert not joined.restarted
    assert after_loss.restarted and after_reset.restarted
    assert abs(after_loss.start_s - (104.0 - (FRAME - 1) / after_loss.fs)) < 1e-9


def test_empty_frames_and_pairs_that_give_no_plausible_rate_are_passed_over() -> None:
    stream = EcgFrameStream()
    assert stream.add(frame_end(0), [], 100.0) == []
    assert stream.add(frame_end(0), samples(), 100.0) == []
    # The same time stamp again: no rate can come from it.
    assert stream.add(frame_end(0), samples(), 100.5) == []
    assert stream.fs is None
    chunks = stream.add(frame_end(1), samples(), 101.0)
    assert [chunk.restarted for chunk in chunks] == [True, False]
