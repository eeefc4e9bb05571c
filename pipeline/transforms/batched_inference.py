"""The bundle-free model stage, for runners that drop ``finish_bundle`` output: Beam's DaskRunner.

``RunInference`` batches with ``BatchElements``, which emits its last batch in
``finish_bundle``, and returns its failures on a tagged output. Beam's DaskRunner
(2.77) collects a partition's outputs before ``finish_bundle`` runs, so those
elements would vanish, and it routes every tagged output of a step to every
consumer (``RunnerCapabilities.finish_bundle_output`` and ``.tagged_outputs`` in
``pipeline/runners.py``). This transform runs the same ``ModelHandler`` without
either: elements are grouped by document (``GroupByKey``), each group is cut into
the handler's windows (its ``batch_elements_kwargs``), everything is emitted from
``process()``, and a failed window becomes a failure record shaped like
``RunInference``'s ``failed_inferences`` (``(batch, message)``), split from the
results by type rather than by tag.

The model is loaded once per worker process (``apache_beam.utils.shared``),
however many partitions the process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.utils import shared
from newsevents.pipeline.split import SplitByType, shard_of

__all__ = ["BatchedInference"]

_MODELS = shared.Shared()  # one per worker process, shared by every DoFn instance in it


@dataclass
class _Failed:
    batch: list
    message: str


class _Box:
    # shared.Shared keeps weak references: the loaded model needs a weak-referenceable holder.
    def __init__(self, value: Any) -> None:
        self.value = value


class _Infer(beam.DoFn):
    def __init__(self, handler: ModelHandler, window: int) -> None:
        self._handler = handler
        self._window = window

    def setup(self) -> None:
        tag = f"{type(self._handler).__name__}:{getattr(self._handler, 'model_name', '')}"
        self._model = _MODELS.acquire(lambda: _Box(self._handler.load_model()), tag=tag)

    def process(self, item):
        _, elements = item
        elements = list(elements)
        for b in range(0, len(elements), self._window):
            batch = elements[b : b + self._window]
            try:
                yield from self._handler.run_inference(batch, self._model.value)
            except Exception as exc:  # noqa: BLE001 - a failed batch becomes dead letters, as with RunInference
                yield _Failed(batch, f"{type(exc).__name__}: {exc}")


class BatchedInference(beam.PTransform):
    """Elements -> ``(PredictionResult, (batch, message) failures)``: ``RunInference``'s bundle-free twin.

    Args:
        handler: the stage's ``ModelHandler``.
        doc_id_of: the document id of an element (elements of a document stay together).
        shards: groups the elements are spread over (the parallelism of the stage).
    """

    def __init__(self, handler: ModelHandler, doc_id_of: Callable[[Any], str], shards: int = 32) -> None:
        super().__init__()
        self._handler = handler
        self._doc_id_of = doc_id_of
        self._shards = shards

    def expand(self, elements):
        doc_id_of, shards = self._doc_id_of, self._shards
        results, failed = (
            elements
            | "KeyByShard" >> beam.Map(lambda x: (shard_of(doc_id_of(x), shards), x))
            | "GroupShards" >> beam.GroupByKey()
            # Windows of the size RunInference would hand the handler (its BatchElements size).
            | "Infer" >> beam.ParDo(_Infer(self._handler, self._handler.batch_elements_kwargs()["max_batch_size"]))
            | "ByType" >> SplitByType(PredictionResult, _Failed)
        )
        return results, failed | "AsFailures" >> beam.Map(lambda f: (f.batch, f.message))
