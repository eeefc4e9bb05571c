"""The NER ModelHandler with the real shipped model, and with any HF model."""

import pytest
from newsevents.models.clean_text import clean_text
from newsevents.models.ner import NerModelHandler, mention_id
from newsevents.models.sentences import make_chunks
from newsevents.schemas.errors import ModelLoadError

TEXT = (
    "This decision was announced by CEO Pavel Durov after his arrest in France. "
    "Telegram said on Monday it would share data with the European Commission."
)


def _chunks(text, doc_id="d", **kw):
    chunks, _ = make_chunks(doc_id, text, clean_text(text), **kw)
    return chunks


def test_shipped_model_finds_specific_mentions_with_exact_offsets(shipped_ner):
    handler, loaded = shipped_ner
    mentions = [m for r in handler.run_inference(_chunks(TEXT), loaded) for m in r.inference]
    found = {(m.text, m.label) for m in mentions}
    assert {("Pavel Durov", "PER"), ("France", "LOC"), ("Telegram", "ORG"), ("European Commission", "ORG")} <= found
    for m in mentions:
        assert TEXT[m.char_start : m.char_end] == m.text
        assert 0.0 < m.score <= 1.0
        assert m.mention_id == mention_id("d", m.char_start, m.char_end, m.label)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_batch_alignment_n_in_n_out_in_order(shipped_ner, batch_size):
    handler, loaded = shipped_ner
    texts = [f"Sentence {i} mentions {'Angela Merkel in Berlin' if i % 2 else 'nobody at all here'}." for i in range(7)]
    chunks = [c for i, t in enumerate(texts) for c in _chunks(t, doc_id=f"doc{i}")]
    results = []
    for b in range(0, len(chunks), batch_size):
        results += list(handler.run_inference(chunks[b : b + batch_size], loaded))
    assert [r.example for r in results] == chunks
    for i, r in enumerate(results):
        assert all(m.doc_id == f"doc{i}" for m in r.inference)
        assert bool(r.inference) == bool(i % 2)


def test_overlapping_windows_keep_each_mention_once(shipped_ner):
    handler, loaded = shipped_ner
    text = "; ".join(["officials from Germany met delegates in Geneva"] * 12)
    chunks = _chunks(text, max_words=30, overlap=10)
    assert len(chunks) > 3
    mentions = [m for r in handler.run_inference(chunks, loaded) for m in r.inference]
    starts = [m.char_start for m in mentions]
    assert len(starts) == len(set(starts))
    assert sum(m.text == "Germany" for m in mentions) == 12
    assert sum(m.text == "Geneva" for m in mentions) == 12


def test_any_hf_token_classifier_loads_from_a_path(tiny_bert_dir):
    handler = NerModelHandler(str(tiny_bert_dir), device="cpu")
    loaded = handler.load_model()
    assert loaded.labels == ["O", "I-PER", "I-LOC"]
    assert not loaded.with_word_features
    results = list(handler.run_inference(_chunks(TEXT), loaded))
    assert len(results) == 2
    for m in (m for r in results for m in r.inference):
        assert TEXT[m.char_start : m.char_end] == m.text and m.model == str(tiny_bert_dir)


def test_model_without_safetensors_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelLoadError, match="safetensors"):
        NerModelHandler(str(tmp_path), device="cpu").load_model()


def test_missing_model_path_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="Could not load model"):
        NerModelHandler(str(tmp_path / "nope"), device="cpu").load_model()
