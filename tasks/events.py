"""Completion and failure events: the announce task and the flow's failure hook."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from podwhisperer import events
from podwhisperer.events import EventDeliveryError, Published
from podwhisperer.model import Manifest
from podwhisperer.settings import EventSettings, Settings

from ._prefect import ContentKey, model_fingerprint, transient_retries

log = logging.getLogger("podwhisperer.events")


def _run_started(flow_run_id) -> datetime:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
    return run.start_time or run.expected_start_time or datetime.now(timezone.utc)


def _send(event: events.Event, settings: EventSettings, flow_run_id) -> None:
    events.to_prefect(event, related=[{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                                       "prefect.resource.role": "flow-run"}])
    if settings.eventbridge_bus:
        events.to_eventbridge(event, settings.eventbridge_bus, settings.source)


@task(
    name="announce-completion",
    **transient_retries(EventDeliveryError),
    timeout_seconds=120,
    persist_result=True,
    # Keyed on what the outputs are made of and where they are: a rerun that changes no output is
    # a cache hit here and announces nothing a second time.
    cache_policy=ContentKey(fingerprints={"manifest": lambda m: m.content_key, "published": model_fingerprint,
                                          "settings": model_fingerprint}, modules=("podwhisperer.events",)),
)
def announce_completion(manifest: Manifest, published: Published, settings: EventSettings) -> dict:
    """The ``Pipeline Completed`` event, as a Prefect event and (when configured) on EventBridge."""
    from prefect.runtime import flow_run

    event = events.completion_event(manifest, published, _run_started(flow_run.id), datetime.now(timezone.utc))
    _send(event, settings, flow_run.id)
    return event.detail


def failed_step(flow_run_id, crashed: bool = False, settle_s: float = 20.0) -> tuple[str, str]:
    """(task name, message) of the run's first failed task, or for a crashed run the task that was
    running last when its process died; the flow itself when there is none.

    The server records task states from events, which may still be on their way when the flow's
    failure hook asks: wait up to ``settle_s`` for a matching task run before saying "flow"."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterState
    from prefect.client.schemas.filters import TaskRunFilterStateType
    from prefect.client.schemas.objects import StateType

    types = [StateType.RUNNING, StateType.CRASHED] if crashed else [StateType.FAILED, StateType.CRASHED]
    deadline = time.monotonic() + settle_s
    with get_client(sync_client=True) as client:
        while not (runs := client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=types))))):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
    if not runs:
        return "flow", ""
    never = datetime.max.replace(tzinfo=timezone.utc)
    if crashed:
        run = max(runs, key=lambda r: r.start_time or r.expected_start_time or never)
    else:
        run = min(runs, key=lambda r: r.end_time or r.expected_start_time or never)
    return run.name.rsplit("-", 1)[0], run.state.message if run.state else ""


def announce_failure(flow, flow_run, state) -> None:
    """Flow on_failure hook: the ``Pipeline Failed`` event with the failed step and the error. A
    hook, not a task: it must run exactly when the flow has failed, and never on success."""
    try:
        params = flow_run.parameters or {}
        settings = Settings.model_validate(params.get("settings") or {})
        step, message = failed_step(flow_run.id)
        event = events.failure_event(str(params.get("audio", "")), step, state.message or message,
                                     str(flow_run.id), _run_started(flow_run.id), datetime.now(timezone.utc))
        _send(event, settings.events, flow_run.id)
    except Exception:  # noqa: BLE001 - the run has failed already; say why the event did not go out
        log.exception("could not send the failure event of flow run %s", flow_run.id)


@task(
    name="answer-crash",
    **transient_retries(EventDeliveryError),
    timeout_seconds=120,
    persist_result=True,
    cache_policy=INPUTS + TASK_SOURCE,  # one announcement per crashed run, however often asked
)
def answer_crash(flow_run_id: str) -> dict:
    """What a run whose process died could not do itself (its hooks died with it). Started by the
    crash automation (deployments/automations.py). An episode run: its ``Pipeline Failed`` event,
    with the step that was running. A GPU run: wake the episode run suspended on it, which then
    fails (or retries, ``gpu.retries``) and announces that itself. A run that is not Crashed gets
    nothing: a failed run announced itself."""
    from prefect.client.orchestration import get_client

    from .gpu import resume_parent

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        flow_name = client.read_flow(run.flow_id).name
    if not (run.state and run.state.is_crashed()):
        log.warning("flow run %s is %s, not Crashed: nothing to do", flow_run_id,
                    run.state.name if run.state else "without a state")
        return {}
    params = run.parameters or {}
    if flow_name == "gpu-transcribe":
        resume_parent(None, run, run.state)
        return {"resumed": (params.get("request") or {}).get("parent_flow_run_id")}
    settings = Settings.model_validate(params.get("settings") or {})
    step, _ = failed_step(run.id, crashed=True)
    error = f"crashed: {run.state.message or 'the run stopped without a final state'}"
    event = events.failure_event(str(params.get("audio", "")), step, error, str(run.id), _run_started(run.id),
                                 run.state.timestamp)
    _send(event, settings.events, run.id)
    return event.detail
