import json
from pathlib import Path

from podwhisperer.model import EngineInfo, Segment, Transcript, Word

SCHEMA_FILE = Path(__file__).parent.parent / "docs" / "transcript.schema.json"


def make_transcript() -> Transcript:
    return Transcript(
        audio_sha256="ab" * 32,
        language="en",
        duration=3.5,
        segments=[Segment(id=0, start=0.5, end=2.0, text="Hello Eoin.", speaker="SPEAKER_00",
                          words=[Word(text="Hello", start=0.5, end=0.9, score=0.9),
                                 Word(text="Eoin.", start=1.0, end=2.0, score=None, interpolated=True)])],
        engine=EngineInfo(engine="faster-whisper", model="tiny.en", device="cpu", compute_type="int8",
                          versions={"faster-whisper": "1.2.1"}, timings={"transcribe": 1.0}),
    )


def test_round_trip_is_lossless():
    t = make_transcript()
    again = Transcript.model_validate_json(t.model_dump_json())
    assert again == t
    assert again.words[1].interpolated and again.words[1].score is None
    assert again.text == "Hello Eoin."


def test_content_hash_follows_content():
    a, b = make_transcript(), make_transcript()
    assert a.content_hash() == b.content_hash()
    b.segments[0].words[0].text = "Hullo"
    assert a.content_hash() != b.content_hash()


def test_unknown_fields_are_rejected():
    data = json.loads(make_transcript().model_dump_json())
    data["segments"][0]["bogus"] = 1
    try:
        Transcript.model_validate(data)
    except ValueError as exc:
        assert "bogus" in str(exc)
    else:
        raise AssertionError("extra field accepted")


def test_documented_schema_is_current():
    """docs/transcript.schema.json is what `podwhisperer schema` prints; regenerate it when the model changes."""
    assert json.loads(SCHEMA_FILE.read_text()) == Transcript.model_json_schema()
