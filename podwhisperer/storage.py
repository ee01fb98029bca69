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

