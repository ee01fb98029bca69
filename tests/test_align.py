from hypothesis import given
from hypothesis import strategies as st

from podwhisperer.align import edit_segment, lcs_pairs, reconcile
from podwhisperer.model import Segment, Word


def words(*spec):
    return [Word(text=t, start=s, end=e, score=0.9) for t, s, e in spec]


BASE = words(("this", 0.0, 0.2), ("is", 0.3, 0.4), ("AWS", 0.5, 0.8), ("Bytes", 0.9, 1.3), ("today", 1.4, 1.8))


def test_lcs_pairs():

    assert len(lcs_pairs(list("abcbdab"), list("bdcaba"))) == 4


def test_same_length_substitution_keeps_timing_exactly():
    out = reconcile(BASE, "this is AWS Bites today", 0.0, 2.0)
    assert [(w.text, w.start, w.end) for w in out] == [("this", 0.0, 0.2), ("is", 0.3, 0.4), ("AWS", 0.5, 0.8),
                                                        ("Bites", 0.9, 1.3), ("today", 1.4, 1.8)]
    assert out[3].score is None and out[3].interpolated and out[2].score == 0.9


def test_removal_extends_previous_word():
    out = reconcile(BASE, "this is AWS today", 0.0, 2.0)
    assert [(w.text, w.start, w.end) for w in out][2] == ("AWS", 0.5, 1.3)


def test_addition_splits_previous_word_at_midpoint():
    out = reconcile(BASE, "this is AWS Bytes podcast today", 0.0, 2.0)
    bytes_, podcast = out[3], out[4]
    assert (bytes_.start, bytes_.end, bytes_.score) == (0.9, 1.1, 0.9) and (podcast.start, podcast.end) == (1.1, 1.3)
    assert podcast.score is None and podcast.interpolated


def test_merge_shares_the_removed_span():
    ws = words(("four", 1.0, 1.2), ("Theorem", 1.3, 1.9))
    out = reconcile(ws, "fourTheorem", 1.0, 2.0)
    assert [(w.text, w.start, w.end) for w in out] == [("fourTheorem", 1.0, 1.9)]


def test_edit_segment_keeps_bounds_and_text_consistent():
    seg = Segment(id=0, start=0.0, end=2.0, text="this is AWS Bytes today", words=BASE)
    out = edit_segment(seg, "AWS Bites")
    assert (out.start, out.end) == (0.0, 2.0)
    assert out.text == "AWS Bites" and [w.text for w in out.words] == ["AWS", "Bites"]


token = st.sampled_from(["a", "b", "c", "Eoin", "AWS", "Bites", "x1", "fourTheorem"])


@given(st.lists(token, max_size=15), st.lists(token, max_size=15), st.lists(st.floats(0.01, 1.0), min_size=15, max_size=15))
def test_any_edit_keeps_times_ordered_and_inside_segment(old_tokens, new_tokens, gaps):
    t, old = 1.0, []
    for tok, g in zip(old_tokens, gaps):
        old.append(Word(text=tok, start=round(t, 3), end=round(t + g, 3), score=1.0))
        t += g + 0.05
    seg_end = t + 0.5
    seg = Segment(id=0, start=1.0, end=seg_end, text=" ".join(old_tokens), words=old)
    out = edit_segment(seg, " ".join(new_tokens))
    assert [w.text for w in out.words] == new_tokens and out.text.split() == new_tokens
    assert (out.start, out.end) == (1.0, seg_end)
    prev = 1.0
    for w in out.words:
        assert 1.0 - 1e-6 <= w.start <= w.end <= seg_end + 1e-6
        assert w.start >= prev - 1e-3
        prev = w.end
