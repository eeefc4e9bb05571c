"""--precision and --backend: int8, bf16 and ONNX Runtime run the real models; impossible combinations fail early."""

from __future__ import annotations

import pytest
from newsevents.models.clean_text import clean_text
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER
from newsevents.models.sentences import make_chunks
from newsevents.schemas.errors import ConfigError

TEXT = "French prosecutors charged Pavel Durov in Paris on Wednesday, and Telegram said it would appeal."


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_keeps_the_answers(precision):
    chunks, _ = make_chunks("d", TEXT, clean_text(TEXT))
    ner = NerModelHandler(DEFAULT_NER, device="cpu", precision=precision)
    mentions = [m for r in ner.run_inference(chunks, ner.load_model()) for m in r.inference]
    assert {("Pavel Durov", "PER"), ("Paris", "LOC"), ("Telegram", "ORG")} <= {(m.text, m.label) for m in mentions}
    events = EventModelHandler(DEFAULT_EVENTS, device="cpu", precision=precision)
    found = [e for r in events.run_inference([(c, mentions) for c in chunks], events.load_model()) for e in r.inference]
    assert "ACCUSE" in {e.event_type for e in found}


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_onnx_keeps_the_answers(onnx_cache, precision):
    # The graphs the session built (tests/models/conftest.py), run by the handlers as a run runs them.
    chunks, _ = make_chunks("d", TEXT, clean_text(TEXT))
    ner = NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx", precision=precision)
    found = ner.run_inference(chunks, onnx_cache.loaded["ner", precision])
    mentions = [m for r in found for m in r.inference]
    assert {("Pavel Durov", "PER"), ("Paris", "LOC"), ("Telegram", "ORG")} <= {(m.text, m.label) for m in mentions}
    events = EventModelHandler(DEFAULT_EVENTS, device="cpu", backend="onnx", precision=precision)
    found = events.run_inference([(c, mentions) for c in chunks], onnx_cache.loaded["events", precision])
    assert "ACCUSE" in {e.event_type for r in found for e in r.inference}


def test_fp16_on_cpu_is_refused_before_loading():
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        NerModelHandler(DEFAULT_NER, device="cpu", precision="fp16").validate()
