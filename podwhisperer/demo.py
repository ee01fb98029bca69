"""Make speech with espeak-ng: the demo episode, test episodes and benchmark episodes.

Two voices stand for two speakers, so the result is a realistic two-host podcast that needs
nothing but Debian's espeak-ng and ffmpeg.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from importlib.resources import files
from pathlib import Path

VOICES = {"A": ("en-us", 165), "B": ("en-gb+f3", 175),
          # Voices further apart for speaker embeddings (A and B sound alike to them).
          "C": ("en-gb-scotland+f4", 175), "D": ("en-029+m7", 170)}
GAP_S = 0.45


def demo_script() -> list[tuple[str, str]]:
    text = files("podwhisperer.data").joinpath("demo_script.txt").read_text()
    return [tuple(line.split("|", 1)) for line in text.splitlines() if line and not line.startswith("#")]


def seed_script(transcript: Path, max_words: int | None = None) -> list[tuple[str, str]]:
    """Lines from a transcript laid out as speaker letter lines followed by paragraphs."""
    lines: list[tuple[str, str]] = []
    speaker, words = "A", 0
    for raw in transcript.read_text().splitlines():
        raw = raw.strip()
        if re.fullmatch(r"[A-Z]", raw):
            speaker = raw
        elif raw and speaker and not raw.lower().startswith("loading"):
            for sentence in re.split(r"(?<=[.!?])\s+", raw):
                n = len(sentence.split())
                if max_words is not None and words + n > max_words:
                    return lines
                lines.append((speaker, sentence))
                words += n
    return lines


def require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise RuntimeError(f"{tool} is not installed (Debian/Ubuntu: apt-get install {tool})")
    return path


def synthesize(lines: list[tuple[str, str]], dest: Path, turns: list | None = None) -> Path:
    """Speak ``lines`` (speaker, text) into ``dest``; the format follows its suffix (.wav, .mp3...).
    ``turns``, if given, receives (speaker, start, end) of each line: the true diarization."""
    espeak = require("espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        joined = Path(tmp) / "joined.wav"
        with wave.open(str(joined), "wb") as out:
            params_set, t = False, 0.0
            for i, (speaker, text) in enumerate(lines):
                voice, speed = VOICES.get(speaker, VOICES["A"])
                part = Path(tmp) / f"{i}.wav"
                subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(part), text], check=True)
                with wave.open(str(part), "rb") as w:
                    if not params_set:
                        out.setparams(w.getparams())
                        params_set = True
                    out.writeframes(w.readframes(w.getnframes()))
                    out.writeframes(b"\0" * int(GAP_S * w.getframerate()) * w.getsampwidth())
                    spoken = w.getnframes() / w.getframerate()
                    if turns is not None:
                        turns.append((speaker, round(t, 3), round(t + spoken, 3)))
                    t += spoken + int(GAP_S * w.getframerate()) / w.getframerate()
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.suffix.lower() == ".wav":
            shutil.copyfile(joined, dest)
        else:
            subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(joined), str(dest)], check=True)
    return dest
