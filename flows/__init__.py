"""Prefect flows: each reads like the pipeline diagram."""
