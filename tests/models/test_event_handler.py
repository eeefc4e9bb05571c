"""The event ModelHandler with the real shipped models."""

import json
import shutil

import pytest

from models.events import EventModelHandler
from models.registry import DEFAULT_EVENTS, REGISTRY
from pipeline.errors import ModelLoadError
from pipeline.transforms.clean_text import clean_text
from pipeline.transforms.sentences import make_chunks


@pytest.fixture(scope="module")
def shipped_events():
    handler = EventModelHandler(DEFAULT_EVENTS, device="cpu")
    return handler, handler.load_model()


def _pairs(shipped_ner, texts):
    ner, ner_loaded = shipped_ner
    chunks = [c for i, t in enumerate(texts) for c in make_chunks(f"d{i}", t, clean_text(t))[0]]
    return [(r.example, r.inference) for r in ner.run_inference(chunks, ner_loaded)]


TEXTS = [
    "Police in Lagos arrested the opposition leader Musa Bello on Friday.",
    "The weather in Oslo was mild for the season.",
    "Germany and France signed a defence agreement in Berlin.",
    "Rebels attacked an army base near Goma, killing six soldiers.",
]


def test_events_with_actors_labels_and_offsets(shipped_ner, shipped_events):
    handler, loaded = shipped_events
    results = list(handler.run_inference(_pairs(shipped_ner, TEXTS), loaded))
    by_doc = {r.example[0].doc_id: r.inference for r in results}
    assert [e.event_type for e in by_doc["d0"]] == ["COERCE"]
    arrest = by_doc["d0"][0]
    assert arrest.source_text == "Police" and "Musa Bello" in arrest.target_text and arrest.target_label == "PER"
    assert arrest.location == "Lagos"
    assert TEXTS[0][arrest.target_start : arrest.target_end] == arrest.target_text
    assert by_doc["d1"] == []
    assert "AGREE" in {e.event_type for e in by_doc["d2"]}
    assert "ASSAULT" in {e.event_type for e in by_doc["d3"]}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_event_batch_alignment(shipped_ner, shipped_events, batch_size):
    handler, loaded = shipped_events
    pairs = _pairs(shipped_ner, TEXTS * 2)
    results = []
    for b in range(0, len(pairs), batch_size):
        results += list(handler.run_inference(pairs[b : b + batch_size], loaded))
    assert [r.example for r in results] == pairs
    assert all(e.doc_id == r.example[0].doc_id for r in results for e in r.inference)


def test_mismatched_shared_embeddings_are_refused(tmp_path):
    model_dir = tmp_path / "events"
    shutil.copytree(REGISTRY[DEFAULT_EVENTS], model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["shared_embeddings"]["digest"] = "0" * 16
    (model_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="retrain the event model"):
        EventModelHandler(str(model_dir), device="cpu").load_model()


def test_punctuation_and_lone_articles_are_not_spans():
    from models.decoding import WordSpan
    from models.events import _span_text

    text = "“ The app blocked it"
    chunk = make_chunks("d", text, clean_text(text))[0][0]
    assert chunk.words[:2] == ("“", "The")
    assert _span_text(chunk, WordSpan(0, 1, "TRG", 0.9)) == (None, None, None)
    assert _span_text(chunk, WordSpan(1, 2, "SRC", 0.9)) == (None, None, None)
    assert _span_text(chunk, WordSpan(1, 3, "SRC", 0.9)) == ("The app", 2, 9)
    assert _span_text(chunk, WordSpan(4, 5, "TGT", 0.9)) == ("it", 18, 20)
