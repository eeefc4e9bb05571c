"""Split a PCollection of mixed records by their type, or spread it over shards by key.

Used instead of tagged outputs (``ParDo.with_outputs``): every record type of the
pipeline is its own class, so a type test says where a record goes, and single-output
steps run the same on every runner, Beam's DaskRunner included (which routes every
tagged output of a step to every consumer).
"""

from __future__ import annotations

import hashlib

import apache_beam as beam

__all__ = ["SplitByType", "shard_of"]


def shard_of(key: str, shards: int) -> int:
    """A stable shard for ``key`` (a hash, not Python's per-process ``hash``): same key, same shard, every run."""
    return int(hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest(), 16) % shards


class SplitByType(beam.PTransform):
    """``mixed | SplitByType(Article, DeadLetter)`` -> ``(articles, dead_letters)``, in the order given."""

    def __init__(self, *types: type) -> None:
        super().__init__()
        self._types = types

    def expand(self, mixed):
        return tuple(
            mixed | f"Only{cls.__name__}" >> beam.Filter(lambda x, cls=cls: isinstance(x, cls)) for cls in self._types
        )
