"""A crashed run -> what its own hooks would have done (started by the crash automation): an episode
run's failure event; for a GPU run, the suspended episode run woken to fail (or retry) and say so."""

from __future__ import annotations

from prefect import flow

from podwhisperer.tasks.events import answer_crash


@flow(name="announce-crash", description="What a crashed episode or GPU run's own hooks could not do.")
def announce_crash(flow_run: str) -> dict:
    """Answer one crashed run.

    Args:
        flow_run: The crashed run's id, or its resource id as in the Crashed event (prefect.flow-run.<id>).
    """
    return answer_crash(flow_run.removeprefix("prefect.flow-run."))
