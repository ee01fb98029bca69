from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from podwhisperer.captions import build_captions, check, layout
from podwhisperer.model import Cue, EngineInfo, Segment, Transcript, Word
from podwhisperer.settings import CaptionSettings

ENGINE = EngineInfo(engine="t", model="t", device="cpu", compute_type="int8")
S = CaptionSettings()


def transcript_from(segments, names=None, gap=0.05) -> Transcript:
    """segments: list of (speaker, [(text, duration)])."""
    segs, t = [], 0.0
    for i, (speaker, words) in enumerate(segments):
        ws = []
        for text, dur in words:
            ws.append(Word(text=text, start=round(t, 3), end=round(t + dur, 3), score=1.0))
            t += dur + gap
        segs.append(Segment(id=i, start=ws[0].start, end=ws[-1].end, text=" ".join(w.text for w in ws),
                            speaker=speaker, words=ws))
        t += 0.3
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs, engine=ENGINE,
                      speaker_names=names or {})


def speech(text: str, speaker="SPEAKER_00"):
    return (speaker, [(w, 0.12 + 0.06 * len(w)) for w in text.split()])


# Plausible speech: about 10-14 characters a second, words of 1-12 letters.
word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12).map(lambda w: (w, 0.1 + 0.07 * len(w)))
punct = st.sampled_from(["", "", "", ",", "."])
segment = st.tuples(st.sampled_from(["SPEAKER_00", "SPEAKER_01"]),
                    st.lists(st.tuples(word, punct).map(lambda p: (p[0][0] + p[1], p[0][1])), min_size=1, max_size=60))


@hsettings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=6))
def test_random_speech_meets_every_limit_the_timings_allow(segments):
    t = transcript_from(segments)
    caps = build_captions(t, S)
    cues = caps.cues
    assert " ".join(c.text for c in cues).split() == [w.text for w in t.words]  # every word once, in order
    for i, c in enumerate(cues):
        assert len(c.lines) <= 2 and all(len(line) <= 42 for line in c.lines)
        assert c.start <= c.end <= c.start + 7.0 + 1e-6
        if i + 1 < len(cues):
            nxt = cues[i + 1]
            assert nxt.start - c.end >= 0.083 - 1e-3  # no overlaps, 2 frames apart
            assert c.speaker == nxt.speaker or c.end <= nxt.start
            room = nxt.start - 0.083 - c.start
        else:
            room = float("inf")
        chars = len(" ".join(c.lines))
        if room >= max(0.833, chars / 20):  # the timings allow it: it must hold
            assert c.end - c.start >= 0.833 - 1e-6
            assert chars / (c.end - c.start) <= 20 + 1e-6
    reported = {(v.cue, v.limit) for v in caps.report.violations}
    assert all(limit in ("min_duration", "reading_speed") for _, limit in reported)


def test_cue_never_spans_two_speakers():
    t = transcript_from([speech("hello there my friend"), speech("hi", "SPEAKER_01"), speech("and so on")])
    cues = layout(t, S)
    assert [(c.speaker, c.text) for c in cues] == [("SPEAKER_00", "hello there my friend"), ("SPEAKER_01", "hi"),
                                                   ("SPEAKER_00", "and so on")]


def test_sentence_end_is_preferred_over_filling_the_cue():
    t = transcript_from([speech("We keep coming back to Lambda because it is convenient. It runs tiny little "
                                "functions on demand when events happen and scales to zero when nothing happens.")])
    cues = layout(t, S)
    assert cues[0].text == "We keep coming back to Lambda because it is convenient."
    assert all(len(c.lines) <= 2 and max(map(len, c.lines)) <= 42 for c in cues)


def test_lines_are_balanced_without_orphans():
    t = transcript_from([speech("the durable execution engine checkpoints every step of the workflow")])
    (cue,) = layout(t, S)
    assert len(cue.lines) == 2 and abs(len(cue.lines[0]) - len(cue.lines[1])) <= 12
    assert all(len(line.split()) > 1 for line in cue.lines)


def test_speaker_prefix_modes():
    segs = [speech("hello there"), speech("and more from me"), speech("hi", "SPEAKER_01")]
    names = {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}
    change = layout(transcript_from(segs, names), S)
    assert [c.lines[0] for c in change] == ["hello there and more from me", "Luciano: hi"]
    assert change[1].text == "hi" and change[1].prefix == "Luciano: "
    always = layout(transcript_from(segs, names), S.model_copy(update={"speaker_prefix": "always"}))
    assert [c.lines[0] for c in always] == ["Eoin: hello there and more from me", "Luciano: hi"]
    never = layout(transcript_from(segs, names), S.model_copy(update={"speaker_prefix": "never"}))
    assert [c.lines[0] for c in never] == ["hello there and more from me", "hi"]
    unnamed = layout(transcript_from(segs), S)
    assert [c.lines[0] for c in unnamed] == ["hello there and more from me", "- hi"] and unnamed[1].text == "hi"


def test_impossible_speech_is_laid_out_and_reported():
    t = transcript_from([("SPEAKER_00", [("Pneumonoultramicroscopicsilicovolcanoconiosis", 0.5)]),
                         ("SPEAKER_01", [("yes", 0.2)])], gap=0.0)
    caps = build_captions(t, S)
    assert [c.text for c in caps.cues] == ["Pneumonoultramicroscopicsilicovolcanoconiosis", "yes"]
    limits = {v.limit for v in caps.report.violations if v.cue == 1}
    assert {"line_length", "reading_speed"} <= limits
    assert caps.report.within["line_length"] == 0.5


def test_check_reports_overlaps_and_long_cues():
    cues = [Cue(start=0.0, end=9.0, lines=["a" * 50]), Cue(start=8.0, end=8.5, lines=["x"])]
    r = check(cues, S)
    assert {(v.cue, v.limit) for v in r.violations} >= {(1, "line_length"), (1, "max_duration"), (1, "gap"), (2, "min_duration")}
    assert r.all_limits == 0.0
