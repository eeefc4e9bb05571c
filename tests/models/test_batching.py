"""Batching knobs: our token-budget passes, and what Beam 2.77's knobs really do.

Beam's own knobs are checked here because their behaviour is easy to assume
wrongly: ``max_batch_weight`` given to a handler breaks the pipeline's
construction, ``batch_length_fn`` buckets nothing unless ``max_batch_duration_secs``
is set, and ``BatchElements`` sizes batches adaptively unless min == max.
"""

from __future__ import annotations

import apache_beam as beam
import newsevents.models.base
import pytest
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from newsevents.models.batching import token_batches
from newsevents.models.clean_text import clean_text
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_NER
from newsevents.models.sentences import make_chunks


@pytest.mark.parametrize("max_rows,max_tokens", [(1, 10**6), (3, 10**6), (16, 40), (16, 1)])
def test_token_batches_cover_every_row_once_within_limits(max_rows, max_tokens):
    lengths = [7, 30, 2, 19, 19, 5, 41, 12, 3, 8, 25]
    batches = token_batches(lengths, max_rows, max_tokens)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= max_rows
        assert [lengths[i] for i in b] == sorted(lengths[i] for i in b)
        # Over budget only when a single row is longer than the budget on its own.
        assert len(b) * max(lengths[i] for i in b) <= max_tokens or len(b) == 1
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # shortest first across passes: padding stays small


def test_token_batches_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        token_batches([1, 2], 0, 10)


class _Recorder(ModelHandler):
    """Records the batches RunInference hands it (a fake for knob tests only)."""

    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self._path = path

    def load_model(self):
        return None

    def run_inference(self, batch, model, inference_args=None):
        with open(self._path, "a") as fh:
            fh.write(",".join(str(x) for x in batch) + "\n")
        return [PredictionResult(x, x) for x in batch]


def _batches(tmp_path, elements, **kwargs):
    path = tmp_path / "batches.txt"
    with BeamPipeline() as p:
        _ = p | beam.Create(elements) | RunInference(_Recorder(str(path), **kwargs))
    return [[int(x) for x in line.split(",")] for line in path.read_text().splitlines()]


def test_beam_fixed_window_when_min_equals_max(tmp_path):
    batches = _batches(tmp_path, list(range(100)), min_batch_size=32, max_batch_size=32)
    assert sorted(len(b) for b in batches) == [4, 32, 32, 32]


def test_beam_max_batch_weight_through_a_handler_raises_type_error(tmp_path):
    # The handler takes max_batch_weight, but RunInference passes it on to
    # BatchElements, which has no such argument: the pipeline fails to build.
    # This is why token budgets live in our handlers (models.batching) instead.
    with pytest.raises(TypeError, match="max_batch_weight"):
        _batches(tmp_path, list(range(1, 41)), min_batch_size=40, max_batch_size=40,
                 max_batch_weight=100, element_size_fn=lambda x: x)


def test_beam_length_fn_alone_does_not_bucket(tmp_path):
    # Without max_batch_duration_secs, batch_length_fn is ignored: short and long mix in one batch.
    elements = [1, 500] * 20
    batches = _batches(tmp_path, elements, min_batch_size=40, max_batch_size=40, batch_length_fn=lambda x: x)
    assert any(1 in b and 500 in b for b in batches)


def test_handler_window_is_fixed_and_passes_respect_rows_and_tokens(monkeypatch):
    handler = NerModelHandler(DEFAULT_NER, device="cpu", batch_size=4, max_batch_tokens=120)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 1024, "max_batch_size": 1024}
    texts = [" ".join(["word"] * n) + f" in Berlin, said Angela Merkel {n}." for n in (3, 40, 8, 25, 1, 12, 30, 5, 2)]
    chunks = [c for i, t in enumerate(texts) for c in make_chunks(f"d{i}", t, clean_text(t))[0]]
    loaded = handler.load_model()
    shapes = []
    real = newsevents.models.base.model_outputs

    def spy(model, tensors, device, precision="fp32"):
        shapes.append(tuple(tensors["input_ids"].shape))
        return real(model, tensors, device, precision)

    monkeypatch.setattr("newsevents.models.base.model_outputs", spy)
    small = list(handler.run_inference(chunks, loaded))
    assert all(rows <= 4 and (rows * width <= 120 or rows == 1) for rows, width in shapes)
    assert len(shapes) > 2
    # The same mentions as one row per pass: batching changes speed, not answers.
    one = NerModelHandler(DEFAULT_NER, device="cpu", batch_size=1)
    single = list(one.run_inference(chunks, loaded))
    assert [r.example for r in small] == chunks
    assert [[(m.text, m.label) for m in r.inference] for r in small] == [
        [(m.text, m.label) for m in r.inference] for r in single]
