"""The pipeline as a service, end to end: S3 intake on moto's S3, episode runs picked up by a real
worker (the process pool standing in for ECS), outputs published back to S3, completion events
through moto's EventBridge to an SQS queue, and the same events as Prefect events."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import boto3
import httpx
import pytest

from podwhisperer.flows.s3_intake import s3_intake
from podwhisperer.intake import intake_key
from podwhisperer.settings import IntakeSettings, Settings

from .conftest import drain, task_states, wait_for

pytestmark = [pytest.mark.e2e]
BUCKET = "pods"


@pytest.fixture(scope="module")
def completed_queue(process_pool, event_queue):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return event_queue


def prefect_events(name: str) -> list[dict]:
    from prefect.settings import PREFECT_API_URL

    answer = httpx.post(f"{PREFECT_API_URL.value()}/events/filter",
                        json={"filter": {"event": {"name": [name]}}, "limit": 50})
    answer.raise_for_status()
    return answer.json()["events"]


def settings_for(tmp_path: Path) -> tuple[Settings, Settings]:
    intake = Settings(intake=IntakeSettings(deployment="transcribe-episode/standin"))
    episode = Settings.model_validate({"output": {"out_dir": str(tmp_path / "out"), "storage": f"s3://{BUCKET}/output"},
                                       "audio": {"work_dir": str(tmp_path / "work")},
                                       "events": {"eventbridge_bus": "default"}})
    return intake, episode


def test_s3_intake_to_outputs_and_one_event_per_episode(completed_queue, episode_mp3, tmp_path):
    s3 = boto3.client("s3")
    for key in ("input/season-1/ep1.mp3", "input/season-2/ep1.mp3"):  # v2 let these two collide
        s3.upload_file(str(episode_mp3), BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key="input/cover.jpg", Body=b"\xff\xd8 not audio")
    intake, episode = settings_for(tmp_path)
    drain(completed_queue)

    report = s3_intake(f"s3://{BUCKET}/input", intake, episode)
    assert sorted(e.title for e in report.started) == ["season-1 ep1", "season-2 ep1"]
    runs = wait_for([e.key for e in report.started])
    assert all(r.state.is_completed() for r in runs), [(r.name, r.state.message) for r in runs]

    events = drain(completed_queue)
    assert sorted(e["detail"]["inputKey"] for e in events) == ["input/season-1/ep1.mp3", "input/season-2/ep1.mp3"]
    for event in events:
        assert event["source"] == "podwhisperer.pipeline" and event["detail-type"] == "Pipeline Completed"
        detail = event["detail"]
        assert detail["bucket"] == BUCKET and detail["language"] == "en" and detail["audioDurationS"] > 30
        caption = json.loads(s3.get_object(Bucket=BUCKET, Key=detail["outputKeys"]["captions"]["json"])["Body"].read())
        assert "lambda" in " ".join(s["text"] for s in caption["segments"]).lower()
        assert detail["outputKeys"]["captions"]["vtt"].startswith("output/season-")
        s3.head_object(Bucket=BUCKET, Key=detail["outputKeys"]["all"]["manifest.json"])
        assert detail["timing"]["pipelineDurationMs"] > 0 and "render_outputs" in detail["stepTimingsS"]
    assert len({e["detail"]["outputKeys"]["captions"]["json"] for e in events}) == 2

    # Polling again starts nothing; a rerun of an episode that changes no output announces nothing.
    assert s3_intake(f"s3://{BUCKET}/input", intake, episode).started == []
    from prefect.deployments import run_deployment

    again = run_deployment("transcribe-episode/standin", parameters=runs[0].parameters, timeout=600)
    assert again.state.is_completed()
    states = task_states(again.state)
    assert {n: states[n][0] for n in ("write-outputs", "publish-outputs", "announce-completion")} == dict.fromkeys(
        ("write-outputs", "publish-outputs", "announce-completion"), "Cached")
    assert drain(completed_queue) == []

    # A changed object (new bytes, new ETag) is an episode again: one more run, one more event.
    changed = tmp_path / "changed.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(episode_mp3), "-b:a", "48k", str(changed)], check=True)
    s3.upload_file(str(changed), BUCKET, "input/season-1/ep1.mp3")
    report = s3_intake(f"s3://{BUCKET}/input", intake, episode)
    assert [e.audio for e in report.started] == [f"s3://{BUCKET}/input/season-1/ep1.mp3"]
    etag = s3.head_object(Bucket=BUCKET, Key="input/season-1/ep1.mp3")["ETag"].strip('"')
    assert report.started[0].key == intake_key(f"s3://{BUCKET}/input/season-1/ep1.mp3", etag)
    wait_for([report.started[0].key])
    (event,) = drain(completed_queue)
    assert event["detail"]["inputKey"] == "input/season-1/ep1.mp3"

    # The same completions, as Prefect events automations can react to (one per distinct outputs).
    deadline = time.monotonic() + 60  # Prefect events are delivered in the background
    while len(ours := [e for e in prefect_events("podwhisperer.pipeline.completed")
                       if e["payload"].get("bucket") == BUCKET]) < 3 and time.monotonic() < deadline:
        time.sleep(1)
    assert len(ours) == 3 and len({e["id"] for e in ours}) == 3


def test_a_failed_episode_sends_one_failure_event_and_no_completion(completed_queue, tmp_path):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="broken/ep.mp3", Body=b"ID3 this is not really an mp3" * 50)
    intake, episode = settings_for(tmp_path)
    drain(completed_queue)
    report = s3_intake(f"s3://{BUCKET}/broken", intake, episode)
    (run,) = wait_for([e.key for e in report.started])
    assert run.state.is_failed()
    (event,) = drain(completed_queue)
    assert event["detail-type"] == "Pipeline Failed"
    assert event["detail"]["step"] == "stage-audio" and event["detail"]["inputKey"] == "broken/ep.mp3"
    assert "audio" in event["detail"]["error"].lower()
    assert not any(o["Key"].startswith("output/ep") for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_intake_from_the_command_line(completed_queue, capsys):
    from podwhisperer.cli import main

    assert main(["intake", "https://example.com/input", "--deployment", "transcribe-episode/standin"]) == 2
    assert "not an s3://bucket/prefix URI" in capsys.readouterr().err
    boto3.client("s3").put_object(Bucket=BUCKET, Key="cli/notes.txt", Body=b"not audio")
    assert main(["intake", f"s3://{BUCKET}/cli", "--deployment", "transcribe-episode/standin"]) == 0
    assert s3_intake(f"s3://{BUCKET}/cli", Settings(intake=IntakeSettings(deployment="transcribe-episode/standin"))
                     ).started == []
