"""Feed polling tasks: the poll state (a Prefect Variable per feed), the conditional fetch, the plan."""

from __future__ import annotations

import hashlib

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.variables import Variable
from pydantic import BaseModel, Field

from podwhisperer import feeds
from podwhisperer.feeds import FeedFetch, FeedState, ItemProblem
from podwhisperer.model import EpisodeRun, StartReport
from podwhisperer.settings import AudioSettings, FeedSettings

from ._prefect import network_retries


class FeedPlan(BaseModel):
    url: str
    title: str = ""
    episodes: list[EpisodeRun] = Field(default_factory=list, description="Candidates, newest first.")
    problems: list[ItemProblem] = Field(default_factory=list)
    state: FeedState = Field(description="What to keep for the next poll, once the episodes are started.")


def state_variable(url: str) -> str:
    return "podwhisperer_feed_" + hashlib.sha256(url.encode()).hexdigest()[:24]


@task(name="feed-urls", cache_policy=NO_CACHE)
def feed_urls(given: list[str] | None, settings: FeedSettings) -> list[str]:
    """The feeds to poll: the flow parameter, else settings, else the Prefect Variable."""
    urls = given or settings.urls or Variable.get(settings.feeds_variable, default=[])
    if isinstance(urls, str):
        urls = [urls]
    return list(dict.fromkeys(str(u).strip() for u in urls if str(u).strip()))


@task(name="load-feed-state", cache_policy=NO_CACHE)
def load_feed_state(url: str) -> FeedState:
    value = Variable.get(state_variable(url), default=None)
    return FeedState.model_validate(value) if value else FeedState()


@task(name="fetch-feed", **network_retries(), cache_policy=NO_CACHE, timeout_seconds=120)
def fetch_feed(url: str, state: FeedState, settings: FeedSettings) -> FeedFetch:
    """Conditional GET; a backfill reads the whole feed even when it has not changed."""
    if settings.backfill:
        state = state.model_copy(update={"etag": None, "last_modified": None})
    return feeds.fetch_feed(url, state, settings.max_feed_bytes)


@task(name="plan-episodes", cache_policy=NO_CACHE)
def plan_episodes(url: str, fetched: FeedFetch, state: FeedState, settings: FeedSettings,
                  audio: AudioSettings) -> FeedPlan:
    """Which episodes of the feed are candidates (newest first); unchanged feed: none."""
    if not fetched.changed:
        return FeedPlan(url=url, state=state)
    read = feeds.read_feed(fetched.body, max_bytes=audio.max_download_bytes)
    since = state.since if state.since is not None else feeds.first_cutoff(read, settings.max_new_per_poll)
    chosen = feeds.candidates(read, FeedState(since=since), settings.backfill)
    return FeedPlan(url=url, title=read.title, episodes=feeds.episode_runs(url, chosen), problems=read.problems,
                    state=FeedState(etag=fetched.etag, last_modified=fetched.last_modified, since=since))


@task(name="save-feed-state", cache_policy=NO_CACHE)
def save_feed_state(plan: FeedPlan, started: StartReport) -> FeedState:
    """Keep ETag/Last-Modified for the next conditional request, unless episodes were left for the
    next poll (then the next poll must read the feed again to find them)."""
    state = plan.state
    if started.deferred:
        state = state.model_copy(update={"etag": None, "last_modified": None})
    Variable.set(state_variable(plan.url), state.model_dump(mode="json"), overwrite=True)
    return state


@task(name="report-poll", cache_policy=NO_CACHE)
def report_poll(plan: FeedPlan, started: StartReport) -> StartReport:
    """A table artifact per feed and poll: what was started, left, or skipped and why."""
    from prefect.artifacts import create_table_artifact

    rows = ([{"episode": e.title, "outcome": "started"} for e in started.started]
            + [{"episode": e.title, "outcome": "next poll (over the per-poll cap)"} for e in started.deferred]
            + [{"episode": p.title, "outcome": f"skipped: {p.reason}"} for p in plan.problems])
    create_table_artifact(key="feed-" + state_variable(plan.url).rsplit("_", 1)[1],
                          table=rows or [{"episode": "-", "outcome": "nothing new"}],
                          description=f"Poll of {plan.title or plan.url}: {len(started.started)} started, "
                                      f"{len(started.already)} started before, {len(plan.problems)} items skipped")
    return started
