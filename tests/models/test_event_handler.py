"""The event ModelHandler with the real shipped models."""

import json
import shutil

import pytest
from newsevents.models.clean_text import clean_text
from newsevents.models.events import EventModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, REGISTRY
from newsevents.models.sentences import make_chunks
from newsevents.schemas.errors import ModelLoadError


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


def _in_batches(handler, loaded, pairs, batch_size):
    results = []
    for b in range(0, len(pairs), batch_size):
        results += list(handler.run_inference(pairs[b : b + batch_size], loaded))
    return results


def _found(events):
    """What a batch must not change: each event's type, mode, words and offsets."""
    return [(e.event_type, e.event_mode, e.trigger, e.source_text, e.source_start, e.source_end, e.target_text,
             e.target_start, e.target_end, e.location, e.sentence_index) for e in events]


@pytest.fixture(scope="module")
def one_at_a_time(shipped_ner, shipped_events):
    """TEXTS twice as (chunk, mentions) pairs, and their events found one pair per batch."""
    handler, loaded = shipped_events
    pairs = _pairs(shipped_ner, TEXTS * 2)
    return pairs, _in_batches(handler, loaded, pairs, 1)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 8])
def test_event_batch_alignment_n_in_n_out_in_order(shipped_events, one_at_a_time, batch_size):
    handler, loaded = shipped_events
    pairs, alone = one_at_a_time
    results = alone if batch_size == 1 else _in_batches(handler, loaded, pairs, batch_size)
    assert [r.example for r in results] == pairs
    # Each text's own events at its own place: events handed to a neighbour in the batch take the
    # neighbour's doc_id (it comes from the chunk), so only their content shows the shift.
    for i, r in enumerate(results):
        types = [e.event_type for e in r.inference]
        assert all(e.doc_id == f"d{i}" for e in r.inference)
        assert (types == ["COERCE"], not types, "AGREE" in types, "ASSAULT" in types)[i % 4], (i, types)
    # And the same events as one pair per batch (padding beside longer sentences changes nothing
    # but the last digits of a score).
    assert [_found(r.inference) for r in results] == [_found(r.inference) for r in alone]
    for r, a in zip(results, alone):
        assert [e.confidence for e in r.inference] == pytest.approx([e.confidence for e in a.inference], abs=1e-4)


def test_mismatched_shared_embeddings_are_refused(tmp_path):
    model_dir = tmp_path / "events"
    shutil.copytree(REGISTRY[DEFAULT_EVENTS], model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["shared_embeddings"]["digest"] = "0" * 16
    (model_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="retrain the event model"):
        EventModelHandler(str(model_dir), device="cpu").load_model()


def test_punctuation_and_lone_articles_are_not_spans():
    from newsevents.models.decoding import WordSpan
    from newsevents.models.events import _span_text

    text = "“ The app blocked it"
    chunk = make_chunks("d", text, clean_text(text))[0][0]
    assert chunk.words[:2] == ("“", "The")
    assert _span_text(chunk, WordSpan(0, 1, "TRG", 0.9)) == (None, None, None)
    assert _span_text(chunk, WordSpan(1, 2, "SRC", 0.9)) == (None, None, None)
    assert _span_text(chunk, WordSpan(1, 3, "SRC", 0.9)) == ("The app", 2, 9)
    assert _span_text(chunk, WordSpan(4, 5, "TGT", 0.9)) == ("it", 18, 20)
