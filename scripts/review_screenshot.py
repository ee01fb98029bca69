"""Make docs/review-form.png: what a reviewer sees in the Prefect UI when a run waits for speaker names.

    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/python scripts/review_screenshot.py

Needs a running `prefect server start` (UI included), Debian's chromium and chromium-driver, and
selenium (pip). A flow run pauses for review of a two-speaker transcript; headless Chromium opens
the run, clicks Resume and screenshots the form.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pause_for_review() -> None:
    from prefect import flow

    from podwhisperer.settings import ReviewSettings
    from podwhisperer.tasks.review import review_speaker_names
    from tests.test_review import episode

    @flow(name="transcribe-episode", flow_run_name="aws-bites-152")
    def reviewed():
        return review_speaker_names(episode(), ReviewSettings(timeout_s=600), requested=True)

    reviewed()


def main() -> int:
    from prefect.client.orchestration import get_client
    from selenium.webdriver.common.by import By

    api = os.environ["PREFECT_API_URL"]
    ui = api.removesuffix("/api")
    sys.path.insert(0, str(ROOT))
    worker = multiprocessing.Process(target=pause_for_review, daemon=True)
    worker.start()
    run = None
    with get_client(sync_client=True) as client:
        for _ in range(120):
            runs = [r for r in client.read_flow_runs() if r.name == "aws-bites-152" and r.state and r.state.is_paused()]
            if runs:
                run = runs[0]
                break
            time.sleep(0.5)
    if run is None:
        raise SystemExit("the flow never paused")
    from _chromium import chromium

    driver = chromium()
    try:
        driver.get(f"{ui}/runs/flow-run/{run.id}")
        time.sleep(6)
        for button in driver.find_elements(By.XPATH, "//button[contains(., 'Resume')]"):
            if button.is_displayed():
                button.click()
                break
        time.sleep(4)
        out = ROOT / "docs" / "review-form.png"
        driver.save_screenshot(str(out))
        print(out)
    finally:
        driver.quit()
        worker.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
