"""Make docs/ui-deployments.png and docs/ui-run-artifacts.png: the Prefect UI after `prefect deploy
--all`, and a finished episode run's artifacts (transcript, timings, caption report).

    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/python scripts/ui_screenshot.py

Needs a running `prefect server start` (UI included), Debian's chromium and chromium-driver, and
selenium (pip). Locally both work pools are process pools (the ECS GPU pool's stand-in).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def deploy_all() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        for pool in ("local-process", "gpu-ecs"):
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"), overwrite=True)
    env = {**os.environ, "PODWHISPERER_BUCKET": "my-podcasts", "PODWHISPERER_GPU_IMAGE": "podwhisperer-gpu:latest",
           "PODWHISPERER_ECS_EXECUTION_ROLE": "podwhisperer-ecs-execution", "PODWHISPERER_ECS_TASK_ROLE": "podwhisperer-gpu"}
    subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def finished_run() -> str:
    from podwhisperer.demo import demo_script, synthesize
    from podwhisperer.flows.transcribe import transcribe_episode
    from podwhisperer.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="podwhisperer-ui-"))
    audio = synthesize(demo_script(), tmp / "aws-bites-152.mp3")
    settings = Settings.model_validate({"output": {"out_dir": str(tmp / "out")}, "audio": {"work_dir": str(tmp / "work")}})
    state = transcribe_episode(str(audio), title="AWS Bites 152", settings=settings, return_state=True)
    return str(state.state_details.flow_run_id)


def main() -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from _chromium import chromium
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
    deploy_all()
    run_id = finished_run()
    worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "local-process"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the deployments show Ready
    time.sleep(10)
    driver = chromium(1400, 1300)
    try:
        driver.get(f"{ui}/deployments")
        time.sleep(6)
        driver.save_screenshot(str(ROOT / "docs" / "ui-deployments.png"))
        driver.get(f"{ui}/runs/flow-run/{run_id}")
        time.sleep(5)
        ActionChains(driver).move_to_element(driver.find_element(By.ID, "artifacts")).click().perform()
        time.sleep(4)
        driver.save_screenshot(str(ROOT / "docs" / "ui-run-artifacts.png"))
    finally:
        driver.quit()
        worker.terminate()
    print(ROOT / "docs" / "ui-deployments.png", ROOT / "docs" / "ui-run-artifacts.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
