"""A crashed episode run -> its failure event (started by the crash automation)."""

from __future__ import annotations

from prefect import flow

from podwhisperer.tasks.events import announce_crashed_run


@flow(name="announce-crash", description="The failure event of an episode run whose process died.")
def announce_crash(flow_run: str) -> dict:
    """Announce one crashed run.

    Args:
        flow_run: The crashed run's id, or its resource id as in the Crashed event (prefect.flow-run.<id>).
    """
    return announce_crashed_run(flow_run.removeprefix("prefect.flow-run."))
