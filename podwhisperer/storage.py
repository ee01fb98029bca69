"""Episode folders: safe names and all-or-nothing publishing."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

MAX_SLUG_CHARS = 60


def slugify(title: str, audio_sha256: str) -> str:
    """A folder name that is safe on every filesystem and unique per audio content.

    Titles are hostile input (``../../etc``, control characters, 10 kB of emoji): only ASCII
    letters, digits and single dashes survive. The short content hash keeps two episodes with
    the same title (``a/ep1.mp3`` and ``b/ep1.mp3``) from overwriting each other.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:MAX_SLUG_CHARS].strip("-")
    return f"{base or 'episode'}-{audio_sha256[:8]}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def publish_dir(files: dict[str, bytes], dest: Path) -> None:
    """Write ``files`` (relative name -> bytes) as the whole content of ``dest``, atomically.

    Everything is written into a hidden sibling folder first; only when every file is on disk
    is the folder swapped in by rename. A crash at any point leaves either the old folder or the
    new one, never a mix, and never a half-written file under ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        for name, data in files.items():
            target = (staging / name).resolve()
            if staging.resolve() not in target.parents:  # names come from code, but be strict
                raise ValueError(f"output name escapes the episode folder: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(staging, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise



# --- shared storage (S3): what the main flow and the GPU flow both reach ----------------------


class SharedStorageError(RuntimeError):
    """Shared storage failed in a way that may pass (network, throttling): worth a retry."""


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> (bucket, key); a clear error for anything else."""
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def s3_join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


# Error codes no retry will mend: the object is not there, or the bucket or credentials refuse us.
_S3_NO_OBJECT = frozenset({"404", "NoSuchKey", "NotFound"})
_S3_REFUSED = frozenset({"NoSuchBucket", "403", "AccessDenied", "Forbidden", "InvalidAccessKeyId",
                         "SignatureDoesNotMatch"})


def s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ClientError ("" for anything else)."""
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")


def s3_error_kind(exc: BaseException) -> str:
    """How to treat a failed S3 call: "no-object", "refused" (no bucket, no permission, bad
    credentials) or "transient" (network, throttling, 5xx: a retry may pass). The one mapping that
    input fetches, shared storage and publishing all use."""
    code = s3_error_code(exc)
    return "no-object" if code in _S3_NO_OBJECT else "refused" if code in _S3_REFUSED else "transient"


def _s3_call(uri: str, fn):
    """Run ``fn(client, bucket, key)``; refusals become PermissionError, the rest SharedStorageError."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3(uri)
    try:
        return fn(boto3.client("s3"), bucket, key)
    except (BotoCoreError, ClientError) as exc:
        if s3_error_kind(exc) == "refused":
            raise PermissionError(f"{uri}: S3 says {s3_error_code(exc)}") from exc
        raise SharedStorageError(f"{uri}: {exc}") from exc


def s3_size(uri: str) -> int | None:
    """Size of the object, or None when there is none."""
    from botocore.exceptions import ClientError

    def head(client, bucket, key):
        try:
            return client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if s3_error_kind(exc) == "no-object":
                return None
            raise

    return _s3_call(uri, head)


def s3_upload(path: Path, uri: str) -> None:
    """Upload a file unless an object of the same size is there (keys are content hashes).
    One S3 PUT is atomic: a reader sees the whole object or none."""
    if s3_size(uri) != path.stat().st_size:
        _s3_call(uri, lambda c, b, k: c.upload_file(str(path), b, k))


def s3_download(uri: str, dest: Path) -> None:
    """Download to ``dest`` through a temporary sibling, so ``dest`` is whole or absent."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    _s3_call(uri, lambda c, b, k: c.download_file(b, k, str(tmp)))
    os.replace(tmp, dest)


def s3_put_bytes(data: bytes, uri: str) -> None:
    _s3_call(uri, lambda c, b, k: c.put_object(Bucket=b, Key=k, Body=data))


def s3_get_bytes(uri: str) -> bytes:
    return _s3_call(uri, lambda c, b, k: c.get_object(Bucket=b, Key=k)["Body"].read())


def publish_s3(folder: Path, names: list[str], base: str, last: str) -> dict[str, str]:
    """Upload the named files of an episode folder under ``base/<folder name>/``; ``last`` (the
    manifest) goes up after all the others, so a reader that finds it finds every file it lists.
    Returns file name -> S3 key."""
    keys = {}
    for name in sorted(names, key=lambda n: n == last):
        uri = s3_join(base, folder.name, name)
        _s3_call(uri, lambda c, b, k, p=folder / name: c.upload_file(str(p), b, k))
        keys[name] = split_s3(uri)[1]
    return keys


def s3_objects(base: str) -> list[dict]:
    """Every object under an s3://bucket/prefix: key, etag, size, last modified (oldest first)."""
    def listing(client, bucket, prefix):
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [{"key": o["Key"], "etag": o["ETag"].strip('"'), "size": o["Size"],
                       "modified": o["LastModified"]} for o in page.get("Contents", [])]
        return sorted(found, key=lambda o: (o["modified"], o["key"]))

    return _s3_call(base, listing)
