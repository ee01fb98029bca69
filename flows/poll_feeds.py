"""feeds -> (per feed) state -> conditional fetch -> plan -> start new episodes -> keep state -> report."""

from __future__ import annotations

from prefect import flow

from podwhisperer.model import StartReport
from podwhisperer.settings import Settings
from podwhisperer.tasks.feeds import (feed_urls, fetch_feed, load_feed_state, plan_episodes, report_poll,
                                      save_feed_state)
from podwhisperer.tasks.runs import start_episodes


@flow(name="poll-feed", description="One podcast feed: start each new episode once.")
def poll_feed(url: str, settings: Settings | None = None, episode_settings: Settings | None = None) -> StartReport:
    """Args:
        url: The feed's URL (RSS or Atom).
        settings: Poller settings (section ``feeds``).
        episode_settings: Settings for the episode runs. None: the episode deployment's own.
    """
    settings = settings or Settings()
    state = load_feed_state(url)
    fetched = fetch_feed(url, state, settings.feeds)  # If-None-Match / If-Modified-Since
    plan = plan_episodes(url, fetched, state, settings.feeds, settings.audio)
    started = start_episodes(plan.episodes, settings.feeds.deployment, settings.feeds.max_new_per_poll,
                             episode_settings)
    save_feed_state(plan, started)
    return report_poll(plan, started)


@flow(name="poll-feeds", description="Every configured feed (a bad feed fails its own poll, not the others').")
def poll_feeds(feeds: list[str] | None = None, settings: Settings | None = None,
               episode_settings: Settings | None = None) -> list[StartReport]:
    """Poll every feed; new episodes start as runs of ``feeds.deployment``.

    Args:
        feeds: Feed URLs. None: settings ``feeds.urls``, else the Prefect Variable podwhisperer_feeds.
        settings: Poller settings (section ``feeds``: cap per poll, backfill, target deployment).
        episode_settings: Settings for the episode runs. None: the episode deployment's own.
    """
    settings = settings or Settings()
    polls = [poll_feed(url, settings, episode_settings, return_state=True) for url in feed_urls(feeds, settings.feeds)]
    return [poll.result() for poll in polls]  # raises after every feed had its poll, if one failed


