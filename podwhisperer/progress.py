"""In-process progress reporting: tasks report, a front end (the CLI's progress bar) listens.

When nobody listens (a worker running a deployment) reports cost nothing.
"""

from __future__ import annotations

from typing import Callable

Listener = Callable[[str, float, str], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def report(step: str, fraction: float, detail: str = "") -> None:
    """``fraction`` in 0..1 of ``step`` done."""
    for listener in list(_listeners):
        listener(step, min(max(fraction, 0.0), 1.0), detail)
