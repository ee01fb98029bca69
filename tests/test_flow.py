"""End to end: real espeak-ng speech, the real tiny.en model, the real flow on a real Prefect server."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
import srt
import webvtt

from podwhisperer.audio import AudioInputError, TransientFetchError
from podwhisperer.engines import base as engines
from podwhisperer.flows import transcribe as flow_module
from podwhisperer.flows.transcribe import transcribe_episode
from podwhisperer.settings import CaptionSettings

from .conftest import free_port, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

ALL_TASKS = ["load-rules", "stage-audio", "transcribe", "apply-rules", "build-captions", "write-outputs",
             "publish-outputs", "report-run", "announce-completion"]
UPSTREAM = dict.fromkeys(["load-rules", "stage-audio", "transcribe", "apply-rules"], "Cached")
# New outputs: written, published and announced. report-run makes its artifacts on every run.
FRESH_TAIL = {"write-outputs": "Completed", "publish-outputs": "Completed", "report-run": "Completed",
              "announce-completion": "Completed"}


def run(audio: str, settings, title: str | None = None):
    state = transcribe_episode(audio, title=title, settings=settings, return_state=True)
    return state, task_states(state)


def episode_dir(settings) -> Path:
    (folder,) = settings.output.out_dir.iterdir()
    return folder


def test_outputs_hold_the_spoken_words(episode_mp3, settings):
    state, tasks = run(str(episode_mp3), settings)
    assert state.is_completed()
    assert sorted(tasks) == sorted(ALL_TASKS) and all(s in ("Completed", "Cached") for s, _ in tasks.values())
    folder = episode_dir(settings)
    assert folder.name.startswith("two-voices-")
    assert sorted(p.name for p in folder.iterdir()) == [
        "caption.json", "captions.srt", "captions.vtt", "manifest.json", "raw_transcript.json", "transcript.json",
        "transcript.md", "transcript.txt", "words.json"]

    raw = json.loads((folder / "raw_transcript.json").read_text())
    text = " ".join(s["text"] for s in raw["segments"]).lower()
    for spoken in ("lambda", "luciano", "workflow", "food delivery", "suspend and resume", "open source"):
        assert spoken in text
    words = [w for s in raw["segments"] for w in s["words"]]
    assert len(words) > 80
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and starts[-1] > 30  # timings increase through the episode
    assert all(w["end"] >= w["start"] for w in words)
    assert raw["language"] == "en" and raw["engine"]["model"] == "tiny.en"
    assert raw["episode"] == {"title": "two-voices", "source": str(episode_mp3)}

    caption = json.loads((folder / "caption.json").read_text())
    assert set(caption) == {"speakers", "segments"}
    assert caption["speakers"] == {"spk_0": "Speaker"}
    for seg in caption["segments"]:
        assert set(seg) == {"speakerLabel", "start", "end", "text"}
        assert isinstance(seg["start"], float) and isinstance(seg["end"], float) and seg["speakerLabel"] == "spk_0"
    assert " ".join(s["text"] for s in caption["segments"]).split() == " ".join(
        s["text"] for s in raw["segments"]).split()

    subs = list(srt.parse((folder / "captions.srt").read_text()))
    vtt = webvtt.from_buffer(io.StringIO((folder / "captions.vtt").read_text()))
    assert len(subs) == len(vtt.captions) == len(caption["segments"]) > 5
    assert all(c.voice == "Speaker" for c in vtt.captions)
    assert all(len(line) <= 42 for s in subs for line in s.content.splitlines())
    for name in ("captions.srt", "captions.vtt"):  # ffmpeg's own subtitle demuxers accept them
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(folder / name), "-f", "srt", "-"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stderr == ""
        assert out.stdout.count(" --> ") == len(subs)

    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"raw_transcript.json", "transcript.json", "words.json", "transcript.txt",
                                      "caption.json", "captions.srt", "captions.vtt", "transcript.md"}
    for f in manifest["files"].values():
        import hashlib

        assert hashlib.sha256((folder / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert manifest["input"]["sha256"] == raw["audio_sha256"]
    assert manifest["config"]["engine"]["model"] == "tiny.en"
    assert {"stage_audio", "engine_transcribe", "build_captions"} <= set(manifest["timings"])
    assert "Luciano" in (folder / "transcript.md").read_text()


def test_rerun_is_all_cached_and_loads_no_model(episode_mp3, settings, monkeypatch):
    run(str(episode_mp3), settings)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in episode_dir(settings).iterdir())
    monkeypatch.setattr(engines, "_engines", {})  # a transcription now would have to load a model
    loads = engines.model_loads()
    state, tasks = run(str(episode_mp3), settings)
    assert state.is_completed()
    assert {name: s for name, (s, _) in tasks.items()} == {**dict.fromkeys(ALL_TASKS, "Cached"),
                                                           "report-run": "Completed"}
    assert engines.model_loads() == loads and engines._engines == {}
    assert sorted((p.name, p.stat().st_mtime_ns) for p in episode_dir(settings).iterdir()) == before


def test_a_remote_episode_is_fetched_again_only_when_it_changed(http_server, episode_mp3, settings, tmp_path):
    """A rerun of a URL asks the server for the version (HEAD: a strong ETag) and downloads
    nothing; a deleted staged WAV, or a new version behind the same URL, is fetched again."""
    http_server.files["/remote/ep.mp3"] = episode_mp3.read_bytes()
    url = f"{http_server.url}/remote/ep.mp3"
    run(url, settings)
    http_server.requests.clear()
    state, tasks = run(url, settings)
    assert state.is_completed() and tasks["stage-audio"][0] == tasks["transcribe"][0] == "Cached"
    assert http_server.requests == [("HEAD", "/remote/ep.mp3")]

    manifest = json.loads((episode_dir(settings) / "manifest.json").read_text())
    for wav in (settings.audio.work_dir / "audio").glob(f"{manifest['input']['sha256']}-*.wav"):
        wav.unlink()
    _, tasks = run(url, settings)
    assert tasks["stage-audio"][0] == "Completed" and tasks["transcribe"][0] == "Cached"

    shorter = tmp_path / "shorter.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(episode_mp3), "-t", "12", "-c", "copy", str(shorter)], check=True)
    http_server.files["/remote/ep.mp3"] = shorter.read_bytes()  # the publisher fixed the episode
    _, tasks = run(url, settings)
    assert tasks["stage-audio"][0] == tasks["transcribe"][0] == "Completed"


def test_same_audio_under_another_name_reuses_the_transcription(episode_mp3, settings, tmp_path):
    run(str(episode_mp3), settings)
    copy = tmp_path / "Renamed Episode.mp3"
    copy.write_bytes(episode_mp3.read_bytes())
    _, tasks = run(str(copy), settings)
    assert tasks["transcribe"][0] == "Cached" and tasks["build-captions"][0] == "Cached"
    assert tasks["stage-audio"][0] == "Cached"  # keyed by content: the name is an input of the folder only
    assert sorted(p.name.rsplit("-", 1)[0] for p in settings.output.out_dir.iterdir()) == ["renamed-episode", "two-voices"]


def test_changing_a_caption_setting_reruns_only_downstream(episode_mp3, settings):
    run(str(episode_mp3), settings)
    narrow = settings.model_copy(update={"captions": CaptionSettings(max_line_chars=30)})
    _, tasks = run(str(episode_mp3), narrow)
    assert {n: s for n, (s, _) in tasks.items()} == {**UPSTREAM, "build-captions": "Completed", **FRESH_TAIL}
    subs = list(srt.parse((episode_dir(settings) / "captions.srt").read_text()))
    assert all(len(line) <= 30 for s in subs for line in s.content.splitlines() if " " in line)


def test_deleted_outputs_are_written_again(episode_mp3, settings):
    run(str(episode_mp3), settings)
    folder = episode_dir(settings)
    (folder / "captions.vtt").unlink()
    (folder / "caption.json").write_text("{}")
    _, tasks = run(str(episode_mp3), settings)
    assert tasks["write-outputs"][0] == "Completed" and tasks["transcribe"][0] == "Cached"
    assert (folder / "captions.vtt").read_text().startswith("WEBVTT")
    assert json.loads((folder / "caption.json").read_text())["segments"]
    _, tasks = run(str(episode_mp3), settings)
    assert tasks["write-outputs"][0] == "Cached"


def test_failed_late_task_resumes_there(episode_mp3, settings, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the output folder should be")
    broken = settings.model_copy(update={"output": settings.output.model_copy(update={"out_dir": blocker / "out"})})
    state, tasks = run(str(episode_mp3), broken)
    assert state.is_failed()
    assert tasks["write-outputs"][0] == "Failed"
    assert all(s in ("Completed", "Cached") for n, (s, _) in tasks.items() if n != "write-outputs")
    blocker.unlink()  # the fault is removed
    state, tasks = run(str(episode_mp3), broken)
    assert state.is_completed()
    assert {n: s for n, (s, _) in tasks.items()} == {**UPSTREAM, "build-captions": "Cached", **FRESH_TAIL}
    assert (blocker / "out").is_dir()


def test_silent_audio_completes_with_empty_transcript_and_warning(settings, tmp_path):
    silent = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silent), "trim", "0", "4"], check=True)
    state, _ = run(str(silent), settings)
    assert state.is_completed()
    raw = json.loads((episode_dir(settings) / "raw_transcript.json").read_text())
    assert raw["segments"] == [] and raw["warnings"] == ["no speech detected: the transcript is empty"]
    assert (episode_dir(settings) / "captions.vtt").read_text().strip() == "WEBVTT"


def _assert_clean_failure(settings, source: str, match: str, runs: int = 1, **kwargs):
    state = transcribe_episode(source, settings=settings, return_state=True, **kwargs)
    assert state.is_failed()
    with pytest.raises((AudioInputError, TransientFetchError), match=match):
        state.result()
    assert task_states(state)["stage-audio"] == ("Failed", runs)
    out = settings.output.out_dir
    assert not out.exists() or not any(out.iterdir())  # nothing partial, not even a temp folder


@pytest.mark.parametrize("name,data,match", [
    ("empty.mp3", b"", "empty.mp3: file is empty"),
    ("notes.mp3", b"just some text\n" * 100, "notes.mp3: not a readable audio file"),
])
def test_bad_files_fail_once_with_a_clear_error(settings, tmp_path, name, data, match):
    path = tmp_path / name
    path.write_bytes(data)
    _assert_clean_failure(settings, str(path), match)


def test_truncated_mp3_fails_cleanly(settings, tmp_path, episode_mp3):
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(episode_mp3.read_bytes()[:20000])
    _assert_clean_failure(settings, str(cut), "cut.mp3: truncated or corrupt")


def test_unreachable_url_is_retried_then_fails_cleanly(settings, monkeypatch):
    # Same task, same retry rule; only the backoff is shortened so the test is quick.
    monkeypatch.setattr(flow_module, "stage_audio", flow_module.stage_audio.with_options(retry_delay_seconds=0))
    _assert_clean_failure(settings, f"http://127.0.0.1:{free_port()}/episode.mp3", "ConnectError", runs=4)


def test_hostile_title_stays_inside_the_output_folder(episode_mp3, settings, tmp_path):
    state, _ = run(str(episode_mp3), settings, title="../../../etc/cron.d/<x> ; rm -rf ~")
    assert state.is_completed()
    (folder,) = settings.output.out_dir.iterdir()
    assert folder.name.startswith("etc-cron-d-x-rm-rf-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]


def test_killed_run_resumes_after_last_completed_task(settings, tmp_path):
    """SIGKILL the CLI while it transcribes; the next run starts at transcription, not before."""
    import os
    import signal
    import sys
    import time

    from podwhisperer.demo import demo_script, synthesize

    episode = synthesize(demo_script() + [("B", "This line makes the kill test episode unique.")], tmp_path / "kill.mp3")
    results = Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])
    before = set(results.iterdir()) if results.exists() else set()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "podwhisperer.cli", "transcribe", str(episode), "--out", str(settings.output.out_dir),
         "--work-dir", str(settings.audio.work_dir)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and set(results.iterdir()) - before:  # stage-audio's result is persisted
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not settings.output.out_dir.exists() or not any(settings.output.out_dir.iterdir())

    state, tasks = run(str(episode), settings)
    assert state.is_completed()
    assert tasks["stage-audio"][0] == "Cached"
    assert tasks["transcribe"][0] == "Completed" and tasks["write-outputs"][0] == "Completed"


RULES = """
- {type: literal, search: Ian, replacement: Eoin}
- {type: regex, search: 'AWS (?:sites|bytes|bites)', replacement: AWS Bites}
"""


def test_rules_fix_names_everywhere_and_an_edited_rule_file_reruns_only_downstream(episode_mp3, settings, tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    with_rules = settings.model_copy(update={"rules": settings.rules.model_copy(update={"source": str(rules_file)})})
    state, tasks = run(str(episode_mp3), with_rules)
    assert state.is_completed()
    folder = episode_dir(settings)
    spoken = {  # the text each output shows a reader
        "transcript.json": lambda d: " ".join(s["text"] for s in d["segments"]),
        "caption.json": lambda d: " ".join(s["text"] for s in d["segments"]),
        "words.json": lambda d: " ".join(w["text"] for w in d),
    }
    for name in ("transcript.json", "caption.json", "words.json", "captions.srt", "captions.vtt", "transcript.md", "transcript.txt"):
        raw_text = (folder / name).read_text()
        text = spoken[name](json.loads(raw_text)) if name in spoken else raw_text
        assert "AWS Bites" in text and "Eoin" in text, name
        assert "AWS sites" not in text and " Ian" not in text, name
    words = json.loads((folder / "words.json").read_text())
    assert any(w["text"].strip(".,") == "Eoin" and w["interpolated"] and w["score"] is None for w in words)
    refined = json.loads((folder / "transcript.json").read_text())
    assert refined["edits"][0]["step"] == "rules" and sum(refined["edits"][0]["counts"].values()) >= 2
    assert [s["start"] for s in refined["segments"]] == [s["start"] for s in json.loads((folder / "raw_transcript.json").read_text())["segments"]]

    rules_file.write_text(RULES + "- {type: literal, search: Owen, replacement: Eoin}\n")  # same vocabulary
    _, tasks = run(str(episode_mp3), with_rules)
    assert {n: s for n, (s, _) in tasks.items()} == {
        "load-rules": "Completed", "stage-audio": "Cached", "transcribe": "Cached",
        "apply-rules": "Completed", "build-captions": "Cached", **FRESH_TAIL}


def test_invalid_rule_file_fails_before_any_audio_work(episode_mp3, settings, tmp_path):
    from podwhisperer.rules import RulesError

    bad = tmp_path / "rules.json"
    bad.write_text('[{"type": "regex", "search": "AWS (Bytes", "replacement": "AWS Bites"}]')
    broken = settings.model_copy(update={"rules": settings.rules.model_copy(update={"source": str(bad)})})
    state = transcribe_episode(str(episode_mp3), settings=broken, return_state=True)
    with pytest.raises(RulesError, match=r"rules.json: rule 1: invalid regex 'AWS \(Bytes'"):
        state.result()
    assert set(task_states(state)) == {"load-rules"}
    assert not settings.output.out_dir.exists() and not settings.audio.work_dir.exists()
