"""The NER stage's Beam ``ModelHandler``: chunks in, entity mentions out.

Pre-process (words -> sub-word tensors), forward (one batched pass), post-process
(sub-word probabilities -> word spans -> ``EntityMention`` with offsets into the
original article) are separate steps; the decoding rules live in
``models.decoding`` and are tested without a model.

Example::

    with beam.Pipeline() as p:
        (p | beam.Create(chunks)
           | RunInference(NerModelHandler("ner.minilm_cased.v1", device="cpu"))
           | beam.FlatMap(lambda r: r.inference))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from apache_beam.ml.inference.base import PredictionResult
from newsevents.models.base import Precision, TransformerHandler
from newsevents.models.batching import row_probabilities
from newsevents.models.decoding import Aggregation, aggregate_words, decode_batch, normalise_labels
from newsevents.schemas.records import Chunk, EntityMention

__all__ = ["LoadedNer", "NerModelHandler", "mention_id", "spans_to_mentions"]


@dataclass
class LoadedNer:
    """A loaded token classifier and what decoding needs to know about it."""

    tokenizer: Any
    model: Any
    device: str
    labels: list[str]
    with_word_features: bool
    precision: Precision = Precision.FP32


def mention_id(doc_id: str, char_start: int, char_end: int, label: str) -> str:
    """Deterministic id of a mention: same article, span and label, same id."""
    key = f"{doc_id}\x1f{char_start}\x1f{char_end}\x1f{label}".encode()
    return hashlib.sha1(key).hexdigest()[:16]


def spans_to_mentions(chunk: Chunk, spans, model_name: str) -> list[EntityMention]:
    """Word spans of one chunk -> mentions the chunk owns, with original offsets."""
    out = []
    for s in spans:
        text, start, end = chunk.word_range(s.start, s.end)
        if not chunk.own_start <= start < chunk.own_end:
            continue  # found in an overlap that the neighbouring window owns
        out.append(
            EntityMention(
                doc_id=chunk.doc_id,
                sentence_index=chunk.sentence_index,
                mention_id=mention_id(chunk.doc_id, start, end, s.label),
                text=text,
                label=s.label,
                char_start=start,
                char_end=end,
                score=round(float(s.score), 4),
                model=model_name,
            )
        )
    return out


def _label_probs(outputs):
    import torch

    return torch.softmax(outputs.logits.float(), dim=-1).cpu().numpy()


class NerModelHandler(TransformerHandler[Chunk, PredictionResult, LoadedNer]):
    """Runs any ``AutoModelForTokenClassification`` over ``Chunk`` batches.

    Each ``PredictionResult`` holds the chunk and the list of ``EntityMention``
    it owns. Labels may be IOB2 (``B-PER``) or IO (``PER``); types are
    upper-cased and common long names shortened (``PERSON`` -> ``PER``).
    """

    aggregation = Aggregation.FIRST

    def load_model(self) -> LoadedNer:
        preloaded = self._take_preloaded()
        if preloaded is not None:
            return preloaded
        from transformers import AutoModelForTokenClassification

        tokenizer, model, device = self._load(AutoModelForTokenClassification)
        labels = normalise_labels([model.config.id2label[i] for i in range(model.config.num_labels)])
        with_features = getattr(model.config, "model_type", "") == "newsevents_cased_bert"
        return LoadedNer(tokenizer, self._finish(model), device, labels, with_features, self._precision)

    def get_metrics_namespace(self) -> str:
        return "newsevents_ner"

    def run_inference(
        self, batch: Sequence[Chunk], model: LoadedNer, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        probs, word_ids = row_probabilities(model, [c.words for c in batch], self._max_length, self._batch_size,
                                            self._max_batch_tokens, model.with_word_features, _label_probs)
        words = [aggregate_words(p, wids, len(chunk.words), self.aggregation)
                 for chunk, p, wids in zip(batch, probs, word_ids)]
        for chunk, spans in zip(batch, decode_batch(words, model.labels)):  # one Viterbi for the whole window
            yield PredictionResult(chunk, spans_to_mentions(chunk, spans, self.model_name), self.model_name)
