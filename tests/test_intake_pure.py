"""S3 intake and events, the pure parts: which objects are episodes, their identity, the event contract."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from podwhisperer.events import Published, completion_event, failure_event
from podwhisperer.intake import episode_runs, episodes_in, intake_key
from podwhisperer.model import Manifest
from podwhisperer.storage import slugify

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def obj(key: str, etag: str = "abc", size: int = 1000, age: int = 0) -> dict:
    return {"key": key, "etag": etag, "size": size, "modified": T0 - timedelta(minutes=age)}


def test_nested_keys_are_distinct_episodes_and_non_audio_is_named():
    found, skipped = episodes_in("s3://pods/input", [
        obj("input/", size=0), obj("input/a/ep1.mp3", age=1), obj("input/b/ep1.mp3", age=2),
        obj("input/notes.txt"), obj("input/empty.wav", size=0), obj("input/huge.m4a", size=10**12)], max_bytes=10**9)
    assert [o.uri for o in found] == ["s3://pods/input/a/ep1.mp3", "s3://pods/input/b/ep1.mp3"]
    assert [o.title for o in found] == ["a ep1", "b ep1"]
    assert slugify(found[0].title, "0" * 64) != slugify(found[1].title, "0" * 64)  # v2 let these collide
    assert {s.uri.rsplit("/", 1)[1]: s.reason.split(" ")[0] for s in skipped} == {
        "notes.txt": "not", "empty.wav": "empty", "huge.m4a": str(10**12)}


def test_an_object_is_one_episode_per_etag():
    (same,), _ = episodes_in("s3://pods/input", [obj("input/ep.mp3", etag="v1")], 10**9)
    (again,), _ = episodes_in("s3://pods/input", [obj("input/ep.mp3", etag="v1")], 10**9)
    (changed,), _ = episodes_in("s3://pods/input", [obj("input/ep.mp3", etag="v2")], 10**9)
    keys = [r.key for r in episode_runs([same, again, changed])]
    assert keys[0] == keys[1] != keys[2] == intake_key("s3://pods/input/ep.mp3", "v2")


def manifest(**extra) -> Manifest:
    return Manifest(slug="ep-1-0123abcd", episode_dir="/out/ep-1-0123abcd",
                    input={"source": "s3://pods/input/a/ep1.mp3", "sha256": "0123abcd" * 8, "title": "Ep 1",
                           "duration": 42.5}, files={}, config={}, versions={},
                    timings={"stage_audio": 0.5, "engine_transcribe": 3.25}, content_key="k1",
                    language="en", speakers={"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}, **extra)


def test_completion_event_keeps_v2s_contract_and_adds_what_we_know():
    names = ["raw_transcript.json", "transcript.json", "captions.vtt", "captions.srt", "caption.json"]
    published = Published(bucket="pods", files={n: f"output/ep-1-0123abcd/{n}" for n in names})
    event = completion_event(manifest(), published, T0, T0 + timedelta(seconds=90, milliseconds=250))
    d = event.detail
    assert event.detail_type == "Pipeline Completed"
    assert d["inputKey"] == "input/a/ep1.mp3" and d["bucket"] == "pods"
    assert d["outputKeys"]["captions"] == {"vtt": "output/ep-1-0123abcd/captions.vtt",
                                           "srt": "output/ep-1-0123abcd/captions.srt",
                                           "json": "output/ep-1-0123abcd/caption.json"}
    assert d["outputKeys"]["rawTranscript"].endswith("raw_transcript.json")
    assert d["outputKeys"]["refinedTranscript"].endswith("/transcript.json")
    assert d["timing"] == {"pipelineStartedAt": "2026-11-23T12:00:00+00:00",
                           "pipelineCompletedAt": "2026-11-23T12:01:30.250000+00:00", "pipelineDurationMs": 90250}
    assert d["speakers"] == {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}
    assert d["audioDurationS"] == 42.5 and d["language"] == "en" and d["stepTimingsS"]["engine_transcribe"] == 3.25
    # The same outputs give the same event id (consumers drop repeats); other outputs another.
    again = completion_event(manifest(), published, T0, T0 + timedelta(hours=1))
    other = completion_event(manifest().model_copy(update={"content_key": "k2"}), published, T0, T0)
    assert again.id == event.id != other.id


def test_failure_event_names_the_step_and_the_error():
    event = failure_event("https://cdn.example.com/ep.mp3", "transcribe", "x" * 5000, "run-1", T0,
                          T0 + timedelta(seconds=2))
    assert event.detail_type == "Pipeline Failed"
    assert event.detail["step"] == "transcribe" and len(event.detail["error"]) == 2000
    assert event.detail["inputKey"] == "https://cdn.example.com/ep.mp3" and event.detail["inputBucket"] is None
    assert event.detail["timing"]["pipelineDurationMs"] == 2000


def test_s3_settings_must_be_s3_uris():
    import pytest
    from pydantic import ValidationError

    from podwhisperer.settings import Settings

    for bad in ({"output": {"storage": "my-bucket/output"}}, {"intake": {"input": "s3:///input"}},
                {"output": {"storage": "https://example.com/x"}}):
        with pytest.raises(ValidationError, match="must be an s3://bucket/prefix URI"):
            Settings.model_validate(bad)
    assert Settings.model_validate({"output": {"storage": "s3://pods/output"}}).output.storage == "s3://pods/output"
