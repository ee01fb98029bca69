from hypothesis import given
from hypothesis import strategies as st

from podwhisperer.captions import build_captions
from podwhisperer.model import EngineInfo, Segment, Transcript, Word
from podwhisperer.settings import CaptionSettings

ENGINE = EngineInfo(engine="t", model="t", device="cpu", compute_type="int8")


def transcript_from(segments: list[list[tuple[str, float]]]) -> Transcript:
    segs, t = [], 0.0
    for i, words in enumerate(segments):
        ws = []
        for text, dur in words:
            ws.append(Word(text=text, start=round(t, 3), end=round(t + dur, 3), score=1.0))
            t += dur + 0.05
        if ws:
            segs.append(Segment(id=i, start=ws[0].start, end=ws[-1].end, text=" ".join(w.text for w in ws),
                                speaker=f"SPEAKER_0{i % 2}", words=ws))
        t += 0.3
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs, engine=ENGINE)


word = st.tuples(st.text("abcdefghij", min_size=1, max_size=12), st.floats(0.05, 1.5))


@given(st.lists(st.lists(word, min_size=1, max_size=40), min_size=1, max_size=6))
def test_cues_keep_words_in_order_within_limits(segments):
    s = CaptionSettings()
    t = transcript_from(segments)
    cues = build_captions(t, s).cues
    assert " ".join(c.text for c in cues).split() == t.text.split()
    for c in cues:
        assert len(c.lines) <= s.max_lines
        assert all(len(line) <= s.max_line_chars for line in c.lines if " " in line)
        assert c.end >= c.start
    for a, b in zip(cues, cues[1:]):
        assert b.start >= a.end  # no overlaps
        assert b.start - a.end >= s.min_gap_s - 1e-6 or a.end == a.start


def test_cue_never_spans_two_speakers_and_respects_duration():
    t = transcript_from([[("hello", 0.4)] * 30, [("bye", 0.3)] * 3])
    cues = build_captions(t, CaptionSettings()).cues
    assert {c.speaker for c in cues} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(c.end - c.start <= 7.0 + 1e-6 for c in cues)
    assert all(len(c.lines) <= 2 for c in cues)
