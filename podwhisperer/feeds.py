"""Podcast feeds, the pure part: which episodes a feed holds, and which of them are new.

feedparser reads RSS/Atom (it refuses entity expansion, so a hostile feed cannot blow up memory).
Every item is judged on its own: one without an audio enclosure, with an oversized one or with an
unusable URL is reported with the reason and skipped, and the rest of the feed goes on. An
episode's identity is its guid, or its enclosure URL when the feed gives no guid; the idempotency
key of its pipeline run is made from the feed URL and that identity, so overlapping or retried
polls start each episode once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from urllib.parse import urlparse

from pydantic import BaseModel, Field

from .model import EpisodeRun

AUDIO_TYPES = ("audio/", "video/mp4", "application/octet-stream")
AUDIO_SUFFIXES = (".mp3", ".m4a", ".aac", ".ogg", ".opus", ".wav", ".flac", ".mp4")


class FeedError(ValueError):
    """The feed as a whole cannot be read (not XML/RSS/Atom at all)."""


class FeedEpisode(BaseModel):
    guid: str
    title: str
    audio_url: str
    published: datetime | None = None
    size_bytes: int | None = None


class ItemProblem(BaseModel):
    item: int = Field(description="1-based position in the feed.")
    title: str
    reason: str


class FeedRead(BaseModel):
    title: str
    episodes: list[FeedEpisode] = Field(default_factory=list, description="Newest first.")
    problems: list[ItemProblem] = Field(default_factory=list)


def episode_key(feed_url: str, guid: str) -> str:
    """Idempotency key of an episode's pipeline run: the same episode of the same feed, once."""
    return "podwhisperer-feed-" + hashlib.sha256(f"{feed_url}\n{guid}".encode()).hexdigest()[:40]


def _audio_enclosure(entry) -> tuple[str, int | None] | None:
    for link in entry.get("enclosures", []) or []:
        url, kind = link.get("href") or link.get("url") or "", (link.get("type") or "").lower()
        if url and (kind.startswith(AUDIO_TYPES) or urlparse(url).path.lower().endswith(AUDIO_SUFFIXES)):
            try:
                size = int(link.get("length") or 0) or None
            except (TypeError, ValueError):
                size = None
            return url, size
    return None


def read_feed(data: bytes, max_bytes: int = 2 * 1024**3) -> FeedRead:
    """Episodes of a feed (newest first) and a reason for every item that is not one."""
    import feedparser

    parsed = feedparser.parse(data)
    if parsed.get("bozo") and not parsed.entries:
        raise FeedError(f"not a podcast feed: {parsed.get('bozo_exception', 'unreadable')}")
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("not a podcast feed: no RSS or Atom document found")
    read = FeedRead(title=" ".join(str(parsed.feed.get("title", "")).split())[:300])
    for i, entry in enumerate(parsed.entries, start=1):
        title = " ".join(str(entry.get("title", "")).split())[:300] or f"item {i}"
        enclosure = _audio_enclosure(entry)
        if enclosure is None:
            read.problems.append(ItemProblem(item=i, title=title, reason="no audio enclosure"))
            continue
        url, size = enclosure
        if urlparse(url).scheme not in ("http", "https"):
            read.problems.append(ItemProblem(item=i, title=title, reason=f"enclosure URL is not http(s): {url[:100]}"))
            continue
        if size and size > max_bytes:
            read.problems.append(ItemProblem(item=i, title=title, reason=f"enclosure of {size} bytes is over the limit"))
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime(*stamp[:6], tzinfo=timezone.utc) if stamp else None
        read.episodes.append(FeedEpisode(guid=str(entry.get("id") or url), title=title, audio_url=url,
                                         published=published, size_bytes=size))
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    read.episodes.sort(key=lambda e: e.published or oldest, reverse=True)
    return read


class FeedState(BaseModel):
    """What a feed's poller keeps between polls (a Prefect Variable per feed)."""

    etag: str | None = None
    last_modified: str | None = None
    since: datetime | None = Field(
        None, description="Episodes published before this were there at the first poll: started only with backfill.")


class FeedFetch(BaseModel):
    changed: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def fetch_feed(url: str, state: FeedState, max_bytes: int, timeout_s: float = 30) -> FeedFetch:
    """GET the feed, conditionally (If-None-Match / If-Modified-Since from the last poll): a 304
    means nothing changed and nothing is downloaded."""
    import httpx

    from .audio import TransientFetchError

    if urlparse(url).scheme not in ("http", "https"):
        raise FeedError(f"{url!r}: a feed URL must be http(s)")
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=timeout_s) as resp:
            if resp.status_code == 304:
                return FeedFetch(changed=False, etag=state.etag, last_modified=state.last_modified)
            if resp.status_code in (408, 429) or resp.status_code >= 500:
                raise TransientFetchError(f"{url}: HTTP {resp.status_code}")
            if resp.status_code >= 400:
                raise FeedError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
            body = bytearray()
            for chunk in resp.iter_bytes(1 << 16):
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"{url}: the feed is over the {max_bytes}-byte limit")
            return FeedFetch(changed=True, body=bytes(body), etag=resp.headers.get("etag"),
                             last_modified=resp.headers.get("last-modified"))
    except httpx.InvalidURL as exc:
        raise FeedError(f"{url!r}: invalid URL ({exc})") from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise TransientFetchError(f"{url}: {type(exc).__name__}: {exc or 'connection failed'}") from exc


def candidates(read: FeedRead, state: FeedState, backfill: bool) -> list[FeedEpisode]:
    """Episodes worth starting, newest first: all of them with backfill, else those published
    since the feed was first polled (an undated episode counts as old)."""
    if backfill or state.since is None:
        return list(read.episodes)
    return [e for e in read.episodes if e.published is not None and e.published >= state.since]


def first_cutoff(read: FeedRead, limit: int) -> datetime | None:
    """At a feed's first poll: the publication time of its ``limit``-th newest episode; older ones
    are the back catalogue."""
    dated = [e.published for e in read.episodes[:limit] if e.published is not None]
    return min(dated) if dated else None


def episode_runs(feed_url: str, episodes: list[FeedEpisode]) -> list[EpisodeRun]:
    return [EpisodeRun(key=episode_key(feed_url, e.guid), audio=e.audio_url, title=e.title) for e in episodes]
