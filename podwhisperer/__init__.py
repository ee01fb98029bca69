"""podwhisperer: podcast episodes to transcripts with speakers and broadcast-grade captions."""

__version__ = "0.1.0"
