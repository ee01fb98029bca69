"""list the input prefix -> start each new object (by ETag) once -> report."""

from __future__ import annotations

from prefect import flow

from podwhisperer.model import StartReport
from podwhisperer.settings import Settings
from podwhisperer.tasks.intake import list_input, report_intake
from podwhisperer.tasks.runs import start_episodes


@flow(name="s3-intake", description="New audio objects under an S3 prefix become episode runs, once per ETag.")
def s3_intake(input: str | None = None, settings: Settings | None = None,
              episode_settings: Settings | None = None) -> StartReport:
    """Start every new object (new key or new ETag) under the prefix as a run of ``intake.deployment``.

    Args:
        input: s3://bucket/prefix to take audio from. None: settings ``intake.input``.
        settings: Intake settings (section ``intake``: target deployment, cap per poll).
        episode_settings: Settings for the episode runs, e.g. output.storage s3://bucket/output.
            None: the episode deployment's own.
    """
    settings = settings or Settings()
    listing = list_input(input or settings.intake.input, settings.audio)
    started = start_episodes(listing.episodes, settings.intake.deployment, settings.intake.max_new_per_poll,
                             episode_settings)
    return report_intake(listing, started)
