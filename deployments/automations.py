"""Prefect automations for podwhisperer.

    python deployments/automations.py notify slack-webhook/podcast-ops
    python deployments/automations.py crashes [--silence-s 540] [--deployment announce-crash/crash]

``notify BLOCK``: notify someone when an episode fails. BLOCK is a notification block
(``<block type slug>/<block name>``: Slack, Teams, email, a custom webhook, ...) made in the UI or
in code. The automation reacts to podwhisperer's own ``podwhisperer.pipeline.failed`` event (every
failed episode run emits one, with the failed step and the error), so it also fires for runs
started by feeds, S3 intake or by hand.

``crashes``: a run whose process died (worker killed, machine lost, out of memory) can run no
hook of its own. Two automations cover it: flow runs that stop sending heartbeats for
``--silence-s`` seconds are marked Crashed (Prefect's zombie-flow recipe; flows send one every
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds, 180 by default, so keep the silence at about three
of those), and every Crashed episode or GPU run starts the ``announce-crash`` deployment: for an
episode run it sends the ``Pipeline Failed`` event (Prefect and EventBridge) with the step that was
running; for a GPU run (the ECS task lost) it wakes the episode run suspended on it, which then
fails with the GPU run's state, or retries it (``gpu.retries``), and announces that itself.

Run again to update them in place.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

NAME = "podwhisperer: episode failed"
ZOMBIES = "podwhisperer: crash silent runs"
CRASHES = "podwhisperer: answer crashed runs"
SUBJECT = "podwhisperer: an episode failed in step {{ event.payload.step }}"
BODY = ("Input: {{ event.payload.inputKey }}\n"
        "Step: {{ event.payload.step }}\n"
        "Error: {{ event.payload.error }}\n"
        "Flow run: {{ event.payload.flowRunId }}")


def failure_automation(block_document_id):
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=NAME,
        description="Sends the failed step and error of every failed podwhisperer episode.",
        trigger=EventTrigger(expect={"podwhisperer.pipeline.failed"}, match={"prefect.resource.id": "podwhisperer.*"},
                             posture=Posture.Reactive, threshold=1, within=0),
        actions=[SendNotification(block_document_id=block_document_id, subject=SUBJECT, body=BODY)],
    )


def zombie_automation(silence_s: float):
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=ZOMBIES,
        description=f"A flow run that sends no heartbeat or state change for {silence_s:.0f} s is Crashed.",
        # After each heartbeat, any event of the same run (heartbeat or state change, custom state
        # names included) must follow within the window.
        trigger=EventTrigger(after={"prefect.flow-run.heartbeat"}, expect={"prefect.flow-run.*"},
                             match={"prefect.resource.id": "prefect.flow-run.*"}, for_each={"prefect.resource.id"},
                             posture=Posture.Proactive, threshold=1, within=timedelta(seconds=silence_s)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"no heartbeat for {silence_s:.0f} s: its process is gone")],
    )


def crash_automation(deployment_id):
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=CRASHES,
        description="A crashed episode run gets its Pipeline Failed event; a crashed GPU run wakes its episode run.",
        trigger=EventTrigger(expect={"prefect.flow-run.Crashed"}, match={"prefect.resource.id": "prefect.flow-run.*"},
                             match_related={"prefect.resource.role": "flow",
                                            "prefect.resource.name": ["transcribe-episode", "gpu-transcribe"]},
                             posture=Posture.Reactive, threshold=1, within=0),
        actions=[RunDeployment(source="selected", deployment_id=deployment_id,
                               parameters={"flow_run": "{{ event.resource.id }}"})],
    )


def _replace(client, automation) -> str:
    for old in client.read_automations_by_name(automation.name):
        client.delete_automation(old.id)
    return client.create_automation(automation)


def install(block: str):
    """Create or replace the failure notification; ``block`` is ``<type slug>/<name>``. Returns its id."""
    from prefect.client.orchestration import get_client

    type_slug, _, name = block.partition("/")
    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name(name=name, block_type_slug=type_slug)
        return _replace(client, failure_automation(document.id))


def install_crash_handling(silence_s: float = 540, deployment: str = "announce-crash/crash") -> tuple[str, str]:
    """Create or replace both crash automations. Returns their ids (zombies, announcements)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        target = client.read_deployment_by_name(deployment)
        return _replace(client, zombie_automation(silence_s)), _replace(client, crash_automation(target.id))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("notify").add_argument("block", help="<block type slug>/<block name>")
    crashes = commands.add_parser("crashes")
    crashes.add_argument("--silence-s", type=float, default=540, help="seconds without a heartbeat (default 540)")
    crashes.add_argument("--deployment", default="announce-crash/crash")
    args = parser.parse_args()
    if args.command == "notify":
        if "/" not in args.block:
            parser.error("the block is <block type slug>/<block name>")
        print(f"automation {NAME!r}: {install(args.block)}")
    else:
        zombies, crashed = install_crash_handling(args.silence_s, args.deployment)
        print(f"automation {ZOMBIES!r}: {zombies}\nautomation {CRASHES!r}: {crashed}")
