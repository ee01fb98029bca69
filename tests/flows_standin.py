"""A flow deployed by the tests' process pool (conftest.process_pool): speaker review in suspend
mode, which only a deployment's run can do."""

from __future__ import annotations

from prefect import flow

from podwhisperer.settings import ReviewSettings
from podwhisperer.tasks.review import review_speaker_names


@flow(name="review-deployed", persist_result=True)
def review_deployed() -> dict[str, str]:
    from tests.test_review import episode

    reviewed = review_speaker_names(episode(), ReviewSettings(mode="suspend", timeout_s=300), requested=True)
    return reviewed.speaker_names
