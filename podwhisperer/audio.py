"""Audio in: fetch a local file, an http(s) URL or an s3:// object, validate it, convert it.

An episode's identity is the sha256 of its bytes, never its name. Bad input raises
:class:`AudioInputError` (deterministic: never retried); a network failure that may pass raises
:class:`TransientFetchError` (retried with backoff by the task).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
import wave
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from .model import AudioInfo
from .settings import AudioSettings
from . import storage
from .storage import sha256_file


class AudioInputError(ValueError):
    """The input is not usable audio. The message names the input and the reason."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class TransientFetchError(RuntimeError):
    """Fetching the input failed in a way that may pass (network, 5xx, throttling)."""


def source_kind(source: str) -> str:
    scheme = urlparse(source).scheme.lower()
    if scheme in ("http", "https"):
        return "http"
    if scheme == "s3":
        return "s3"
    if scheme in ("", "file") or (len(scheme) == 1 and source[1:2] == ":"):  # C:\ paths
        return "local"
    raise AudioInputError(source, f"unsupported URL scheme {scheme!r} (use a path, http(s):// or s3://)")


def local_path(source: str) -> Path:
    return Path(unquote(urlparse(source).path)) if source.startswith("file://") else Path(source)


def source_fingerprint(source: str) -> str | None:
    """Content hash of a local input (for cache keys); None for remote inputs.

    A remote object can change behind the same URL: see ``input_identity`` for remote inputs.
    """
    if source_kind(source) != "local":
        return None
    path = local_path(source)
    if not path.is_file():
        return None
    st = path.stat()
    return _hash_of(str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def remote_version(source: str, timeout_s: float = 10.0) -> str | None:
    """The identity of a remote input's current version, from one cheap request: S3's ETag, or
    an http(s) server's strong ETag (a weak one promises equivalence, not the same bytes), with
    the size. None when there is none to trust or the request fails: then the input is fetched
    and hashed as usual."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        kind = source_kind(source)
        if kind == "http":
            resp = httpx.head(source, follow_redirects=True, timeout=timeout_s)
            etag, size = resp.headers.get("etag", ""), resp.headers.get("content-length", "")
            if resp.status_code != 200 or not etag.startswith('"'):
                return None
            version = f"{source}|{etag}|{size}"  # not the final URL: signed redirects vary per request
        elif kind == "s3":
            bucket, key = storage.split_s3(source)
            head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
            version = f"{source}|{head['ETag']}|{head['ContentLength']}"
        else:
            return None
    except (httpx.HTTPError, BotoCoreError, ClientError, ValueError):  # AudioInputError: a ValueError
        return None
    return hashlib.sha256(version.encode()).hexdigest()


def input_identity(source: str) -> str | None:
    """What identifies the input's bytes without fetching them: a local file's content hash, a
    remote object's version (``remote_version``); None when nothing does."""
    try:
        return source_fingerprint(source) if source_kind(source) == "local" else remote_version(source)
    except AudioInputError:
        return None  # an unsupported scheme: staging says so


@lru_cache(maxsize=256)
def _hash_of(path: str, inode: int, size: int, mtime_ns: int) -> str:
    # One hash per file version per process (git's rule for "unchanged": same inode, size, mtime).
    return sha256_file(Path(path))


def default_title(source: str) -> str:
    name = local_path(source).name if source_kind(source) == "local" else unquote(urlparse(source).path).rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem or "episode"


# --- fetching ---------------------------------------------------------------------------------


def fetch(source: str, dest_dir: Path, settings: AudioSettings) -> Path:
    """Return a local path holding the input's bytes (the original file when it is local)."""
    kind = source_kind(source)
    if kind == "local":
        path = local_path(source)
        if not path.exists():
            raise AudioInputError(source, "no such file")
        if not path.is_file():
            raise AudioInputError(source, "not a regular file")
        return path
    dest = dest_dir / "download"
    if kind == "http":
        _fetch_http(source, dest, settings)
    else:
        _fetch_s3(source, dest, settings)
    return dest


def _fetch_http(url: str, dest: Path, settings: AudioSettings) -> None:
    deadline = time.monotonic() + settings.download_timeout_s
    limit = settings.max_download_bytes
    try:
        with httpx.stream(
            "GET", url, follow_redirects=True, timeout=httpx.Timeout(settings.connect_timeout_s)
        ) as resp:
            if resp.status_code in (408, 429) or resp.status_code >= 500:
                raise TransientFetchError(f"{url}: HTTP {resp.status_code}")
            if resp.status_code >= 400:
                raise AudioInputError(url, f"HTTP {resp.status_code} {resp.reason_phrase}")
            declared = int(resp.headers.get("content-length") or 0)
            if declared > limit:
                raise AudioInputError(url, f"{declared} bytes is over the {limit}-byte limit")
            received = 0
            with open(dest, "wb") as f:
                for chunk in resp.iter_bytes(1 << 16):
                    received += len(chunk)
                    if received > limit:
                        raise AudioInputError(url, f"download passed the {limit}-byte limit")
                    if time.monotonic() > deadline:
                        raise TransientFetchError(f"{url}: download took over {settings.download_timeout_s:.0f} s")
                    f.write(chunk)
    except httpx.InvalidURL as exc:
        raise AudioInputError(url, f"invalid URL ({exc})") from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise TransientFetchError(f"{url}: {type(exc).__name__}: {exc or 'connection failed'}") from exc


def _fetch_s3(uri: str, dest: Path, settings: AudioSettings) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise AudioInputError(uri, "an s3 URI needs a bucket and a key: s3://bucket/key")
    s3 = boto3.client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head["ContentLength"] > settings.max_download_bytes:
            raise AudioInputError(uri, f"{head['ContentLength']} bytes is over the {settings.max_download_bytes}-byte limit")
        s3.download_file(bucket, key, str(dest))
    except (BotoCoreError, ClientError) as exc:
        if storage.s3_error_kind(exc) == "transient":
            raise TransientFetchError(f"{uri}: {exc}") from exc
        raise AudioInputError(uri, f"S3 says {storage.s3_error_code(exc)}") from exc


# --- validation and conversion ----------------------------------------------------------------


def probe(path: Path, source: str) -> dict:
    """ffprobe the file; raise AudioInputError unless it holds an audio stream."""
    proc = subprocess.run(
        ["ffprobe", "-v", "warning", "-show_entries",
         "format=duration,format_name:stream=codec_type,codec_name", "-of", "json", str(path)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise AudioInputError(source, f"not a readable audio file ({_first_line(proc.stderr)})")
    info = json.loads(proc.stdout or "{}")
    audio = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise AudioInputError(source, "no audio stream in the file")
    fmt = info.get("format", {})
    return {
        "format_name": fmt.get("format_name", "unknown"),
        "codec": audio[0].get("codec_name", "unknown"),
        "declared_duration": float(fmt["duration"]) if fmt.get("duration") not in (None, "N/A") else None,
        # Without a header that states the length, ffprobe guesses from the bitrate: no check then.
        "duration_trusted": "Estimating duration from bitrate" not in proc.stderr,
    }


def convert(path: Path, dest: Path, source: str, sample_rate: int) -> float:
    """Decode to mono PCM WAV at ``sample_rate``; return the decoded duration in seconds."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(path),
         "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le",
         "-f", "wav", str(dest)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise AudioInputError(source, f"ffmpeg cannot decode it ({_first_line(proc.stderr)})")
    return wav_duration(dest)


def load_wav(path: Path, sample_rate: int = 16000):
    """The staged 16-bit mono WAV as float32 samples in [-1, 1), as Whisper models take them.

    Reading PCM directly skips a second decode (PyAV) of audio that ffmpeg already converted.
    """
    import numpy as np

    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != sample_rate:
            raise ValueError(f"{path}: expected 16-bit mono PCM at {sample_rate} Hz")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def check_complete(source: str, declared: float | None, trusted: bool, decoded: float) -> None:
    """A file that decodes to much less than its header states was cut short (truncated upload)."""
    if declared and trusted and decoded < declared - max(0.5, 0.02 * declared):
        raise AudioInputError(
            source, f"truncated or corrupt: its header says {declared:.1f} s but only {decoded:.1f} s decode"
        )


def staged_wav_path(sha256: str, settings: AudioSettings) -> Path:
    """Where the engine's WAV for this content lives: named by content, so staging is idempotent."""
    return settings.work_dir / "audio" / f"{sha256}-{settings.sample_rate}.wav"


def stage(source: str, settings: AudioSettings) -> AudioInfo:
    """Fetch, hash, validate and convert one input. Idempotent: the WAV is named by content."""
    t0 = time.perf_counter()
    tmp_root = settings.work_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        original = fetch(source, Path(tmp), settings)
        size = original.stat().st_size
        if size == 0:
            raise AudioInputError(source, "file is empty (0 bytes)")
        sha = sha256_file(original)
        info = probe(original, source)
        wav = staged_wav_path(sha, settings)
        wav.parent.mkdir(parents=True, exist_ok=True)
        tmp_wav = Path(tmp) / "audio.wav"
        decoded = convert(original, tmp_wav, source, settings.sample_rate)
        check_complete(source, info["declared_duration"], info["duration_trusted"], decoded)
        if decoded < settings.min_duration_s:
            raise AudioInputError(source, f"no audio content ({decoded:.2f} s)")
        shutil.move(str(tmp_wav), wav)  # same content for the same hash: replacing is harmless
    return AudioInfo(
        sha256=sha,
        size_bytes=size,
        format_name=info["format_name"],
        codec=info["codec"],
        duration=round(decoded, 3),
        wav_path=wav,
        elapsed_s=round(time.perf_counter() - t0, 3),
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no details"
