"""Feeds, the pure part: episodes found, bad items reported one by one, new ones chosen once."""

from __future__ import annotations

import pytest

from podwhisperer.feeds import FeedError, FeedState, candidates, episode_key, first_cutoff, read_feed

FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>AWS Bites</title>
<item><title>151: Older</title><guid>ep-151</guid><pubDate>Mon, 03 Nov 2025 10:00:00 GMT</pubDate>
  <enclosure url="https://cdn.example.com/151.mp3" type="audio/mpeg" length="1000"/></item>
<item><title>152: PodWhisperer   v2</title><guid>ep-152</guid><pubDate>Mon, 10 Nov 2025 10:00:00 GMT</pubDate>
  <enclosure url="https://cdn.example.com/152.mp3" type="audio/mpeg" length="2000"/></item>
<item><title>Show notes only</title><guid>notes</guid></item>
<item><title>No guid</title><pubDate>Mon, 01 Sep 2025 10:00:00 GMT</pubDate>
  <enclosure url="https://cdn.example.com/150.m4a" type="" length="x"/></item>
<item><title>Local file</title><guid>evil</guid><enclosure url="file:///etc/passwd" type="audio/mpeg"/></item>
<item><title>Huge</title><guid>huge</guid><enclosure url="https://cdn.example.com/huge.mp3" type="audio/mpeg" length="99999999999"/></item>
</channel></rss>"""


def test_episodes_newest_first_and_every_bad_item_named():
    read = read_feed(FEED)
    assert read.title == "AWS Bites"
    assert [e.guid for e in read.episodes] == ["ep-152", "ep-151", "https://cdn.example.com/150.m4a"]
    assert read.episodes[0].title == "152: PodWhisperer v2" and read.episodes[0].size_bytes == 2000
    reasons = {p.title: p.reason for p in read.problems}
    assert reasons["Show notes only"] == "no audio enclosure"
    assert "not http(s)" in reasons["Local file"] and "over the limit" in reasons["Huge"]


def test_the_back_catalogue_waits_for_backfill():
    read = read_feed(FEED)
    # First poll with a cap of 1: the newest episode; older ones are the back catalogue.
    since = first_cutoff(read, 1)
    assert since == read.episodes[0].published
    later = FeedState(since=since)
    assert [e.guid for e in candidates(read, later, backfill=False)] == ["ep-152"]
    assert [e.guid for e in candidates(read, later, backfill=True)] == [
        "ep-152", "ep-151", "https://cdn.example.com/150.m4a"]
    assert len(candidates(read, FeedState(), backfill=False)) == 3  # first poll: all, newest first


def test_episode_keys_are_per_feed_and_episode():
    assert episode_key("https://f/rss", "ep-152") == episode_key("https://f/rss", "ep-152")
    assert episode_key("https://f/rss", "ep-152") != episode_key("https://other/rss", "ep-152")


@pytest.mark.parametrize("data", [b"", b"not xml at all {", b"<html><body>hi</body></html>"])
def test_something_that_is_no_feed_is_one_clear_error(data):
    with pytest.raises(FeedError, match="not a podcast feed"):
        read_feed(data)


def test_entity_expansion_is_not_expanded():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
    <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
    <rss version="2.0"><channel><title>&d;</title><item><title>&d;&d;</title><guid>1</guid>
    <enclosure url="https://x/1.mp3" type="audio/mpeg"/></item></channel></rss>"""
    read = read_feed(bomb)
    assert len(read.title) <= 300 and all(len(e.title) <= 300 for e in read.episodes)
