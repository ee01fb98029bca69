"""The WhisperX engine, for real on the CPU: real whisperx with the local tiny.en CTranslate2 model
and its bundled pyannote VAD on the espeak episode; alignment through the real ``whisperx.align``
with a wav2vec2 CTC model loaded from a local directory (a tiny random one the test builds: it
proves the loading and alignment code, not accuracy); speakers assigned by whisperx from a given
diarization (the espeak script's true turns). Everything offline.

Needs the ``whisperx`` extra (scripts/test.sh installs it). Without it these tests skip, unless
PODWHISPERER_TESTS_NEED_EXTRAS=1 (CI), where a missing whisperx is a failure.
"""

from __future__ import annotations

import os

import pytest

from podwhisperer.engines.whisperx import to_segments

from .conftest import require_extra


def test_to_segments_times_every_word_and_keeps_speakers():
    import numpy as np

    aligned = [
        {"start": np.float64(1.0), "end": np.float64(3.0), "text": "in 2025 we", "speaker": "SPEAKER_01",
         "words": [{"word": "in", "start": np.float64(1.0), "end": np.float64(1.2), "score": np.float64(0.9)},
                   {"word": "2025"},  # alignment cannot place numerals
                   {"word": "we", "start": 2.5, "end": float("nan"), "score": 0.8, "speaker": "SPEAKER_00"}]},
        {"start": 4.0, "end": 5.0, "text": "never aligned", "words": []},
        {"start": 6.0, "end": 6.0, "text": "  ", "words": []},
    ]
    first, second = to_segments(aligned)
    assert [w.text for w in first.words] == ["in", "2025", "we"] and first.text == "in 2025 we"
    assert first.words[1].interpolated and first.words[1].score is None
    assert 1.2 <= first.words[1].start < first.words[1].end <= first.words[2].start  # never 0
    assert [w.speaker for w in first.words] == ["SPEAKER_01", "SPEAKER_01", "SPEAKER_00"]
    assert all(isinstance(w.start, float) for w in first.words)
    assert second.text == "never aligned" and all(w.interpolated for w in second.words)
    assert 4.0 <= second.words[0].start and second.words[-1].end <= 5.0


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A models directory as ``podwhisperer models download`` lays it out, made offline
    (podwhisperer.models.stand_in). Used through PODWHISPERER_MODELS_DIR, as in the GPU image."""
    require_extra("whisperx", "whisperx")
    from podwhisperer.models import stand_in

    root = stand_in(tmp_path_factory.mktemp("models"))
    old = {k: os.environ.get(k) for k in ("PODWHISPERER_MODELS_DIR", "HF_HUB_OFFLINE")}
    os.environ.update(PODWHISPERER_MODELS_DIR=str(root), HF_HUB_OFFLINE="1")
    yield root
    for k, v in old.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_models_verify_checks_and_loads_a_directory(models_dir, tmp_path, capsys):
    import shutil

    from podwhisperer.cli import main

    assert main(["models", "verify", str(models_dir), "--whisper", "tiny.en", "--no-diarize", "--load"]) == 0
    assert "ok       whisper tiny.en" in capsys.readouterr().out
    # Missing pieces are named; a broken model is caught by loading it.
    assert main(["models", "verify", str(models_dir), "--whisper", "tiny.en"]) == 1
    assert "diarize" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(models_dir, broken)
    (broken / "whisper" / "tiny.en" / "model.bin").write_bytes(b"not a model")
    assert main(["models", "verify", str(broken), "--whisper", "tiny.en", "--no-diarize"]) == 0  # files only
    assert main(["models", "verify", str(broken), "--whisper", "tiny.en", "--no-diarize", "--load"]) == 1
    assert "whisper tiny.en" in capsys.readouterr().err


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """The demo script spoken by two espeak voices, its staged WAV, and the true speaker turns."""
    from podwhisperer.audio import stage
    from podwhisperer.demo import demo_script, synthesize
    from podwhisperer.settings import AudioSettings

    tmp = tmp_path_factory.mktemp("wx-episode")
    turns: list = []
    mp3 = synthesize(demo_script(), tmp / "episode.mp3", turns)
    return stage(str(mp3), AudioSettings(work_dir=tmp / "work")), turns


def test_whisperx_engine_transcribes_aligns_and_assigns_speakers(models_dir, spoken):
    import pandas as pd

    from podwhisperer.engines import get_engine, model_loads
    from podwhisperer.settings import EngineSettings

    audio, turns = spoken
    # Names only: the models directory says where they are (as in the GPU image).
    settings = EngineSettings(engine="whisperx", model="tiny.en", batch_size=4)
    loads = model_loads()
    engine = get_engine(settings)
    assert get_engine(settings) is engine and model_loads() == loads + 1  # loaded once per process

    # A given diarization (the true turns); whisperx assigns words to speakers from it.
    given = pd.DataFrame([{"start": s, "end": e, "speaker": f"SPEAKER_{who}"} for who, s, e in turns])
    engine._diarizer = lambda audio_array, **kw: given
    transcript = engine.transcribe(audio.wav_path, audio.sha256, vocabulary=["AWS Bites"])

    assert transcript.engine.engine == "whisperx" and transcript.language == "en"
    assert {"load", "load_align", "transcribe", "align", "diarize"} <= set(transcript.engine.timings)
    words = transcript.words
    assert len(words) > 40
    text = transcript.text.lower()
    assert "aws bites" in text and "lambda" in text, text[:300]
    for seg in transcript.segments:
        assert seg.text.split() == [w.text for w in seg.words]
        for a, b in zip(seg.words, seg.words[1:]):
            assert seg.start <= a.start <= a.end <= b.start <= b.end <= seg.end
    assert all(w.start > 0 or w is words[0] for w in words)  # nothing thrown to 0
    # Speakers: the word's label is the true speaker at its middle, for nearly every word.
    def truth(t):
        return next((f"SPEAKER_{who}" for who, s, e in turns if s - 0.3 <= t <= e + 0.3), None)
    agree = sum(w.speaker == truth((w.start + w.end) / 2) for w in words)
    assert {w.speaker for w in words} == {"SPEAKER_A", "SPEAKER_B"}
    assert agree >= 0.8 * len(words), (agree, len(words))

    # The second episode reuses the loaded models: no load timings reported again.
    again = engine.transcribe(audio.wav_path, audio.sha256)
    assert "load" not in again.engine.timings and again.text
