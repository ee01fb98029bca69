"""What every podwhisperer task shares: content cache keys and a transient-only retry rule."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Optional

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from pydantic import BaseModel

Fingerprint = Callable[[Any], Optional[str]]


def model_fingerprint(value: Any) -> str:
    """Canonical JSON of a pydantic model (or any JSON value)."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, sort_keys=True, default=str)


@lru_cache(maxsize=None)
def code_version(modules: tuple[str, ...]) -> str:
    """Hash of the source of the pure modules a task runs: editing them invalidates its cache."""
    h = hashlib.sha256()
    for name in modules:
        h.update(inspect.getsource(importlib.import_module(name)).encode())
    return h.hexdigest()[:16]


@dataclass
class ContentKey(CachePolicy):
    """Cache key from content only: fingerprints of the named inputs + the code that runs.

    Never run ids or file names. A fingerprint of ``None`` means "no trustworthy identity"
    (a remote input whose server states no version): the task then runs uncached.

    ``still_valid(inputs, cached)`` guards results that point at the outside world (a staged WAV,
    an output folder): when a cached record exists but what it refers to is gone or was
    changed, the task runs again (uncached this time, so the record stays the good one).
    ``cached()`` reads the stored result, for checks that need it.
    """

    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    modules: tuple[str, ...] = ()
    still_valid: Optional[Callable[[dict[str, Any], Callable[[], Any]], bool]] = None

    def compute_key(
        self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> Optional[str]:
        parts = {"task": task_ctx.task.name, "code": code_version(self.modules)}
        for name, fingerprint in self.fingerprints.items():
            value = fingerprint(inputs.get(name))
            if value is None:
                return None
            parts[name] = value
        key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        store = task_ctx.result_store
        if self.still_valid is not None and store is not None:
            if store.exists(key) and not self.still_valid(inputs, lambda: store.read(key).result):
                return None
        return key


def is_transient(*transient: type[BaseException]) -> Callable[..., bool]:
    """A ``retry_condition_fn`` that retries only the given exception types.

    Bad input is deterministic: retrying it wastes time and hides the real error.
    """

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        exc = state.data if isinstance(state.data, BaseException) else None
        if exc is None:
            try:
                state.result(raise_on_failure=True)
            except BaseException as raised:  # noqa: BLE001 - we only classify it
                exc = raised
        return isinstance(exc, transient)

    return condition


def network_retries() -> dict[str, Any]:
    """Task options for steps that fetch over the network: 3 retries, exponential backoff with
    jitter, and only for failures that may pass (bad input fails at once)."""
    from prefect.tasks import exponential_backoff

    from podwhisperer.audio import TransientFetchError

    return dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5,
                retry_condition_fn=is_transient(TransientFetchError))


def transient_retries(*transient: type[BaseException]) -> dict[str, Any]:
    """Task options for steps that talk to a service (S3, an event bus): 3 retries at 2, 10 and
    30 s (with jitter), only for the given failures that may pass."""
    return dict(retries=3, retry_delay_seconds=[2, 10, 30], retry_jitter_factor=0.5,
                retry_condition_fn=is_transient(*transient))
