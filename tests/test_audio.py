"""Audio staging on real files with real ffmpeg, a real HTTP server and S3 (moto server)."""

import subprocess
from pathlib import Path

import boto3
import pytest

from podwhisperer import audio
from podwhisperer.audio import AudioInputError, TransientFetchError
from podwhisperer.settings import AudioSettings


@pytest.fixture
def audio_settings(tmp_path: Path) -> AudioSettings:
    return AudioSettings(work_dir=tmp_path / "work")


def test_stage_converts_to_16k_mono_and_names_by_content(episode_mp3, audio_settings, tmp_path):
    renamed = tmp_path / "another name.mp3"
    renamed.write_bytes(episode_mp3.read_bytes())
    a, b = audio.stage(str(episode_mp3), audio_settings), audio.stage(str(renamed), audio_settings)
    assert a.sha256 == b.sha256 == audio.source_fingerprint(str(renamed))
    assert a == b.model_copy(update={"elapsed_s": a.elapsed_s})  # content only: the name plays no part
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,channels,codec_name",
                            "-of", "csv=p=0", str(a.wav_path)], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "pcm_s16le,16000,1"
    assert 30 < a.duration < 50 and a.codec == "mp3"
    assert not list((audio_settings.work_dir / "tmp").iterdir())  # no leftovers


def _bad(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_empty_file(tmp_path, audio_settings):
    with pytest.raises(AudioInputError, match=r"empty\.mp3: file is empty \(0 bytes\)"):
        audio.stage(_bad(tmp_path / "empty.mp3", b""), audio_settings)


def test_text_file_renamed_mp3(tmp_path, audio_settings):
    with pytest.raises(AudioInputError, match=r"notes\.mp3: not a readable audio file"):
        audio.stage(_bad(tmp_path / "notes.mp3", b"Dear listener,\nthis is not audio.\n" * 50), audio_settings)


def test_truncated_mp3(tmp_path, audio_settings, episode_mp3):
    data = episode_mp3.read_bytes()
    with pytest.raises(AudioInputError, match=r"cut\.mp3: truncated or corrupt: its header says 3\d\.\d s"):
        audio.stage(_bad(tmp_path / "cut.mp3", data[: len(data) // 3]), audio_settings)


def test_image_is_not_audio(tmp_path, audio_settings):
    png = tmp_path / "cover.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=red:s=16x16", "-frames:v", "1",
                    "-f", "image2", str(png)], check=True)
    with pytest.raises(AudioInputError, match="no audio stream"):
        audio.stage(str(png), audio_settings)


def test_missing_file_and_directory_and_scheme(tmp_path, audio_settings):
    with pytest.raises(AudioInputError, match="no such file"):
        audio.stage(str(tmp_path / "nope.mp3"), audio_settings)
    with pytest.raises(AudioInputError, match="not a regular file"):
        audio.stage(str(tmp_path), audio_settings)
    with pytest.raises(AudioInputError, match="unsupported URL scheme 'ftp'"):
        audio.stage("ftp://example.com/a.mp3", audio_settings)


def test_silence_is_valid_audio(tmp_path, audio_settings):
    silent = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(silent), "trim", "0", "3"], check=True)
    info = audio.stage(str(silent), audio_settings)
    assert abs(info.duration - 3.0) < 0.01


def test_http_download(http_server, episode_mp3, audio_settings):
    http_server.files["/feed/ep%201.mp3"] = episode_mp3.read_bytes()
    info = audio.stage(f"{http_server.url}/feed/ep%201.mp3", audio_settings)
    assert info.sha256 == audio.source_fingerprint(str(episode_mp3))
    assert audio.default_title(f"{http_server.url}/feed/ep%201.mp3?x=1") == "ep 1"
    assert audio.source_fingerprint(f"{http_server.url}/feed/ep%201.mp3") is None  # only local files are hashed


def test_remote_inputs_are_identified_by_their_version(http_server, s3_server, episode_mp3, audio_settings):
    """A strong ETag (HTTP) or S3's ETag names the bytes without fetching them; it changes with
    them; a weak ETag, none, or an error gives no identity (the input is fetched every run)."""
    url = f"{http_server.url}/versions/ep.mp3"
    http_server.files["/versions/ep.mp3"] = b"version one"
    first = audio.input_identity(url)
    assert first and first == audio.input_identity(url)
    assert ("GET", "/versions/ep.mp3") not in http_server.requests  # HEAD only
    http_server.files["/versions/ep.mp3"] = b"version two"
    assert audio.input_identity(url) not in (None, first)
    http_server.files["/weak/ep.mp3"] = b"x"
    assert audio.input_identity(f"{http_server.url}/weak/ep.mp3") is None
    assert audio.input_identity(f"{http_server.url}/missing.mp3") is None
    assert audio.input_identity(f"{http_server.url}/status/503") is None
    assert audio.input_identity("ftp://example.com/ep.mp3") is None
    assert audio.input_identity(str(episode_mp3)) == audio.source_fingerprint(str(episode_mp3))

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="versions")
    s3.put_object(Bucket="versions", Key="ep.mp3", Body=b"version one")
    one = audio.input_identity("s3://versions/ep.mp3")
    s3.put_object(Bucket="versions", Key="ep.mp3", Body=b"version two")
    assert one and audio.input_identity("s3://versions/ep.mp3") not in (None, one)
    assert audio.input_identity("s3://versions/missing.mp3") is None


def test_http_errors_are_classified(http_server, audio_settings):
    with pytest.raises(AudioInputError, match="HTTP 404"):
        audio.stage(f"{http_server.url}/missing.mp3", audio_settings)
    with pytest.raises(TransientFetchError, match="HTTP 503"):
        audio.stage(f"{http_server.url}/status/503", audio_settings)
    from .conftest import free_port

    with pytest.raises(TransientFetchError, match="ConnectError"):
        audio.stage(f"http://127.0.0.1:{free_port()}/ep.mp3", audio_settings)


def test_http_size_limit(http_server, audio_settings):
    http_server.files["/big.mp3"] = b"\0" * 5000
    small = audio_settings.model_copy(update={"max_download_bytes": 1000})
    with pytest.raises(AudioInputError, match="over the 1000-byte limit"):
        audio.stage(f"{http_server.url}/big.mp3", small)


def test_s3_download(s3_server, episode_mp3, audio_settings):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="podcasts")
    s3.upload_file(str(episode_mp3), "podcasts", "input/a/b/episode.mp3")
    info = audio.stage("s3://podcasts/input/a/b/episode.mp3", audio_settings)
    assert info.sha256 == audio.source_fingerprint(str(episode_mp3))
    assert audio.default_title("s3://podcasts/input/a/b/episode.mp3") == "episode"
    with pytest.raises(AudioInputError, match="S3 says 404"):
        audio.stage("s3://podcasts/input/missing.mp3", audio_settings)
