"""Start episodes as their own pipeline runs, each exactly once (feeds and S3 intake share this)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from podwhisperer.model import EpisodeRun, StartReport
from podwhisperer.progress import report
from podwhisperer.settings import Settings


def already_started(keys: list[str]) -> set[str]:
    """Those of ``keys`` some flow run already carries as its idempotency key (the server's record,
    so it holds across polls, retries, overlapping polls and restarts of the poller)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterIdempotencyKey

    found: set[str] = set()
    with get_client(sync_client=True) as client:
        for i in range(0, len(keys), 200):
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                idempotency_key=FlowRunFilterIdempotencyKey(any_=keys[i:i + 200])))
            found |= {r.idempotency_key for r in runs}
    return found


@task(name="start-episodes", retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE, timeout_seconds=600)
def start_episodes(episodes: list[EpisodeRun], deployment: str, limit: int,
                   episode_settings: Settings | None = None) -> StartReport:
    """Start at most ``limit`` of the episodes not started before, in the order given. A retry or a
    second poller starting the same episode gets the same run back (idempotency key)."""
    from prefect.deployments import run_deployment

    done = already_started([e.key for e in episodes])
    fresh = [e for e in episodes if e.key not in done]
    out = StartReport(already=[e for e in episodes if e.key in done], deferred=fresh[limit:])
    extra = {"settings": episode_settings.model_dump(mode="json")} if episode_settings is not None else {}
    for i, episode in enumerate(fresh[:limit], start=1):
        run_deployment(deployment, parameters={"audio": episode.audio, "title": episode.title, **extra},
                       idempotency_key=episode.key, timeout=0, as_subflow=False)
        out.started.append(episode)
        report("start", i / min(limit, len(fresh)), episode.title)
    return out
