"""Example Prefect automation: notify someone when an episode fails.

    python deployments/automations.py slack-webhook/podcast-ops

The argument is a notification block (``<block type slug>/<block name>``: Slack, Teams, email,
a custom webhook, ...) made in the UI or in code. The automation reacts to podwhisperer's own
``podwhisperer.pipeline.failed`` event (emitted by every failed episode run, with the failed step
and the error), so it also fires for runs started by feeds, S3 intake or by hand. Run again to
update it in place.
"""

from __future__ import annotations

import sys

NAME = "podwhisperer: episode failed"
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


def install(block: str):
    """Create or replace the automation; ``block`` is ``<type slug>/<name>``. Returns its id."""
    from prefect.client.orchestration import get_client

    type_slug, _, name = block.partition("/")
    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name(name=name, block_type_slug=type_slug)
        for old in client.read_automations_by_name(NAME):
            client.delete_automation(old.id)
        return client.create_automation(failure_automation(document.id))


if __name__ == "__main__":
    if len(sys.argv) != 2 or "/" not in sys.argv[1]:
        sys.exit(__doc__)
    print(f"automation {NAME!r}: {install(sys.argv[1])}")
