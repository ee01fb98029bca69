"""The podwhisperer command: the demo in a real subprocess (its own embedded Prefect), errors in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podwhisperer.cli import main

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
