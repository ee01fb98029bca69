from pathlib import Path

import pytest

from podwhisperer.storage import publish_dir, s3_error_kind, slugify

SHA = "0123456789abcdef" * 4


@pytest.mark.parametrize("title", [
    "../../etc/passwd", "..", "/abs/path", "a\\b\\..\\c", "name\x00with\nnul", "<script>alert(1)</script>",
    "CON", "  ", "🎙️🎙️", "x" * 5000, "Épisode 12: Ça va? | \"quotes\" & *stars*",
])
def test_slug_is_safe_for_any_title(title):
    slug = slugify(title, SHA)
    assert slug.endswith("-01234567")
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    assert ".." not in slug and "/" not in slug and not slug.startswith("-")
    assert len(slug) <= 70


def test_slug_keeps_readable_titles_and_separates_same_titles():
    assert slugify("Épisode 12: Ça va?", SHA) == "episode-12-ca-va-01234567"
    assert slugify("ep1", "a" * 64) != slugify("ep1", "b" * 64)


def test_publish_dir_replaces_whole_folder(tmp_path: Path):
    dest = tmp_path / "ep"
    publish_dir({"a.txt": b"1", "b.txt": b"2"}, dest)
    publish_dir({"a.txt": b"3"}, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt"]
    assert (dest / "a.txt").read_bytes() == b"3"
    assert [p.name for p in tmp_path.iterdir()] == ["ep"]


def test_publish_dir_failure_leaves_old_content_and_no_temp(tmp_path: Path):
    dest = tmp_path / "ep"
    publish_dir({"a.txt": b"old"}, dest)

    with pytest.raises(ValueError):
        publish_dir({"a.txt": b"new", "../escape.txt": b"x"}, dest)
    assert (dest / "a.txt").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ep"]



@pytest.mark.parametrize(("code", "kind"), [
    ("NoSuchKey", "no-object"), ("404", "no-object"), ("NoSuchBucket", "refused"), ("AccessDenied", "refused"),
    ("InvalidAccessKeyId", "refused"), ("SlowDown", "transient"), ("InternalError", "transient"), ("503", "transient"),
])
def test_one_mapping_of_s3_errors(code, kind):
    from botocore.exceptions import ClientError, EndpointConnectionError

    assert s3_error_kind(ClientError({"Error": {"Code": code}}, "GetObject")) == kind
    assert s3_error_kind(EndpointConnectionError(endpoint_url="http://x")) == "transient"
