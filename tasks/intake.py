"""S3 intake tasks: list the input prefix, report what was started."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from podwhisperer import intake
from podwhisperer.model import EpisodeRun, StartReport
from podwhisperer.settings import AudioSettings
from podwhisperer.storage import SharedStorageError, s3_objects

from ._prefect import transient_retries


class IntakeListing(BaseModel):
    input: str
    episodes: list[EpisodeRun] = Field(default_factory=list, description="Oldest first.")
    skipped: list[intake.Skipped] = Field(default_factory=list)


@task(name="list-input", **transient_retries(SharedStorageError), cache_policy=NO_CACHE, timeout_seconds=300)
def list_input(base: str | None, audio: AudioSettings) -> IntakeListing:
    if not base:
        raise ValueError("no input prefix: pass input=s3://bucket/prefix or set intake.input")
    found, skipped = intake.episodes_in(base, s3_objects(base), audio.max_download_bytes)
    return IntakeListing(input=base, episodes=intake.episode_runs(found), skipped=skipped)


@task(name="report-intake", cache_policy=NO_CACHE)
def report_intake(listing: IntakeListing, started: StartReport) -> StartReport:
    from prefect.artifacts import create_table_artifact

    rows = ([{"object": e.audio, "outcome": "started"} for e in started.started]
            + [{"object": e.audio, "outcome": "next poll (over the per-poll cap)"} for e in started.deferred]
            + [{"object": s.uri, "outcome": f"skipped: {s.reason}"} for s in listing.skipped])
    create_table_artifact(key="s3-intake", table=rows or [{"object": "-", "outcome": "nothing new"}],
                          description=f"{listing.input}: {len(started.started)} started, "
                                      f"{len(started.already)} started before, {len(listing.skipped)} skipped")
    return started
