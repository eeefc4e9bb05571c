"""Split a PCollection of mixed records by their type.

Used instead of tagged outputs (``ParDo.with_outputs``): every record type of the
pipeline is its own class, so a type test says where a record goes, and single-output
steps run the same on every runner, Beam's DaskRunner included (which routes every
tagged output of a step to every consumer).
"""

from __future__ import annotations

import apache_beam as beam

__all__ = ["SplitByType"]


class SplitByType(beam.PTransform):
    """``mixed | SplitByType(Article, DeadLetter)`` -> ``(articles, dead_letters)``, in the order given."""

    def __init__(self, *types: type) -> None:
        super().__init__()
        self._types = types

    def expand(self, mixed):
        return tuple(
            mixed | f"Only{cls.__name__}" >> beam.Filter(lambda x, cls=cls: isinstance(x, cls)) for cls in self._types
        )
