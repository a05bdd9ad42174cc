from edge.signals.beat_clock import BeatClock


def test_beats_continue_across_packets_and_follow_the_rr_exactly() -> None:
    clock = BeatClock()
    first = clock.beats(100.0, [0.8, 0.9])
    second = clock.beats(101.1, [0.75])
    assert first == [(99.1, 0.8), (100.0, 0.9)]
    assert second == [(100.75, 0.75)]


def test_after_lost_packets_the_clock_is_set_from_the_arrival_time() -> None:
    clock = BeatClock()
    clock.beats(100.0, [1.0])
    assert clock.beats(130.0, [0.5, 0.5]) == [(129.5, 0.5), (130.0, 0.5)]


def test_a_packet_without_intervals_has_no_beats() -> None:
    assert BeatClock().beats(100.0, []) == []
