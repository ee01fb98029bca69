"""Load (bench/load.py, asserted): 20 distinct episodes submitted at once, each twice, to one server;
episode runs on a CPU pool with a concurrency limit, transcription on a GPU stand-in pool limited to
one job. All complete, none is lost or duplicated, and the GPU pool never runs two jobs at once."""

from __future__ import annotations

import pytest

from .conftest import load_script

pytestmark = [pytest.mark.e2e]


def test_twenty_episodes_at_once(prefect_server, s3_server, tmp_path):
    load = load_script("bench/load.py")
    report = load.run(20, cpu_limit=3, work=tmp_path)
    assert report["failures"] == [] and report["completed"] == 20
    assert report["flow_runs"] == 20 and report["submitted"] == 40  # each episode submitted twice, run once
    assert report["lost"] == 0 and report["duplicated"] == 0 and report["output_folders"] == 20
    assert report["max_running_gpu_jobs"] == 1
    assert 1 <= report["max_running_episode_runs"] <= 3
