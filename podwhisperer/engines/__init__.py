"""Transcription engines behind one small interface (see :mod:`.base`)."""

from .base import Engine, get_engine, model_loads

__all__ = ["Engine", "get_engine", "model_loads"]
