"""Prefect tasks: thin wrappers (retries, cache policy, timeout, artifacts) around pure functions."""
