"""Data shipped with podwhisperer (the demo script)."""
