"""The core's orchestration (``models.extract.ArticleExtractor``) with stand-in model handlers.

The handlers are fakes with the real ones' interface (``load_checked``, ``run_inference``,
``batch_elements_kwargs``, ``model_name``), so the rules the Beam graph applies can be
checked without a model: a model batch that raises makes each of its chunks a
``model_failed`` dead letter and its documents ``partial``; N records in, N out, in order.
"""

from __future__ import annotations

import pytest
from apache_beam.ml.inference.base import PredictionResult
from newsevents.models.document import prepare_article
from newsevents.models.extract import ArticleExtractor, Document, model_dead_letters
from newsevents.models.ner import mention_id
from newsevents.schemas.errors import Stage
from newsevents.schemas.records import Article, DeadLetter, EntityMention, SentenceEvent


class _Fake:
    def __init__(self, window: int, fail_on: str | None = None) -> None:
        self._window = window
        self._fail_on = fail_on
        self.batches: list[int] = []
        self.loads = 0

    def batch_elements_kwargs(self) -> dict:
        return {"min_batch_size": self._window, "max_batch_size": self._window}

    def load_checked(self) -> str:  # what the core loads a handler's model with
        self.loads += 1
        return "loaded"

    def _check(self, chunks) -> None:
        self.batches.append(len(chunks))
        if self._fail_on and any(self._fail_on in c.surface for c in chunks):
            raise RuntimeError("planted")


class FakeNer(_Fake):
    """A place mention for each chunk's first word."""

    model_name = "fake-ner"

    def run_inference(self, batch, model):
        self._check(batch)
        for chunk in batch:
            text, start, end = chunk.word_range(0, 1)
            yield PredictionResult(chunk, [EntityMention(chunk.doc_id, chunk.sentence_index,
                                                         mention_id(chunk.doc_id, start, end, "LOC"), text, "LOC",
                                                         start, end, 0.9, self.model_name)], self.model_name)


class FakeEvents(_Fake):
    """A PROTEST event for each chunk whose second word is 'marched', its first mention the source."""

    model_name = "fake-events"

    def run_inference(self, batch, model):
        self._check([c for c, _ in batch])
        for chunk, mentions in batch:
            events = [SentenceEvent(chunk.doc_id, chunk.sentence_index, chunk.char_start, chunk.char_end, "PROTEST",
                                    "marched", mentions[0].text, mentions[0].char_start, mentions[0].char_end,
                                    "LOC", None, None, None, None, None, 0.8, self.model_name)
                      ] if mentions and chunk.words[1] == "marched" else []
            yield PredictionResult((chunk, mentions), events, self.model_name)


def _extractor(window=2, ner_fails=None, events_fail=None) -> ArticleExtractor:
    return ArticleExtractor(FakeNer(window, ner_fails), FakeEvents(window, events_fail), pipeline_version="9.9")


ARTICLES = [Article("a", "Workers marched on Monday."), Article("b", "Farmers marched. Nurses waited."),
            Article("c", "Teachers marched again.")]


def test_each_article_gives_its_document_mentions_and_events():
    ex = _extractor()
    docs = ex.extract(ARTICLES)
    assert [d.document.doc_id for d in docs] == ["a", "b", "c"]
    assert [(d.document.status, d.document.n_mentions, d.document.n_events) for d in docs] == [
        ("ok", 1, 1), ("ok", 2, 1), ("ok", 1, 1)]
    assert [m.text for m in docs[1].entities] == ["Farmers", "Nurses"]
    (event,) = docs[1].events
    assert (event.source_text, event.pipeline_version, event.ner_model, event.event_model) == (
        "Farmers", "9.9", "fake-ner", "fake-events")
    assert event.time_text is None and docs[0].events[0].time_text == "on Monday"  # with_time ran
    # 4 chunks in windows of 2, both stages; each model loaded once.
    assert ex.ner_handler.batches == ex.event_handler.batches == [2, 2]
    assert ex.ner_handler.loads == ex.event_handler.loads == 1


def test_a_failing_ner_batch_makes_its_chunks_dead_letters_and_their_documents_partial():
    docs = _extractor(ner_fails="Nurses").extract(ARTICLES)  # the window of b's 2nd chunk and c's chunk
    a, b, c = docs
    assert a.document.status == "ok" and not a.dead_letters
    assert (b.document.status, b.document.n_mentions, b.document.n_events) == ("partial", 1, 1)
    assert (c.document.status, c.document.n_mentions, c.entities, c.events) == ("partial", 0, [], [])
    assert b.dead_letter is None  # the document stands; its lost chunk has the dead letter
    assert b.dead_letters == [DeadLetter("ner", "model_failed", "The ner model failed on this chunk's batch: "
                                         "RuntimeError('planted')", "b", "Nurses waited.", "sentence 1")]
    assert [d.input_location for d in c.dead_letters] == ["sentence 0"]


def test_a_failing_event_batch_keeps_the_mentions_and_loses_the_events():
    a, b, c = _extractor(events_fail="Workers").extract(ARTICLES)  # a's chunk and b's first
    assert (a.document.status, a.document.n_mentions, [m.text for m in a.entities], a.events) == (
        "partial", 1, ["Workers"], [])
    assert (b.document.status, b.document.n_events) == ("partial", 0)
    assert [(d.stage, d.reason) for d in a.dead_letters + b.dead_letters] == [("events", "model_failed")] * 2
    assert c.document.status == "ok" and c.document.n_events == 1


def test_dead_letter_records_and_empty_texts_stay_dead_letters():
    read_dead = DeadLetter("read", "missing_text", "no text", "x")
    docs = _extractor().extract([read_dead, Article("h", "<div><p></p><br></div>"), ARTICLES[0]])
    assert docs[0] == Document(None, dead_letters=[read_dead]) and docs[0].dead_letter is read_dead
    assert (docs[1].document, docs[1].dead_letter.stage, docs[1].dead_letter.reason) == (None, "prepare",
                                                                                         "empty_text")
    assert docs[2].document.status == "ok"


def test_a_mention_no_table_can_store_is_dropped_with_a_note():
    (doc,) = _extractor().extract([Article("s", "Jean\udfffPierre marched.")])
    assert doc.entities == [] and doc.document.n_mentions == 0 and doc.document.status == "partial"
    assert doc.document.notes[0].startswith("entities: the LOC mention at characters 0-11 was dropped: its row "
                                            "does not fit the table (UnicodeEncodeError")


@pytest.mark.parametrize("window", [1, 2, 3, 8])
def test_n_records_in_n_documents_out_in_order(window):
    articles = [Article(f"d{i}", " ".join(["Workers marched."] * (i % 3 + 1))) for i in range(7)]
    docs = _extractor(window).extract(articles)
    assert [d.document.doc_id for d in docs] == [a.doc_id for a in articles]
    assert [d.document.n_mentions for d in docs] == [i % 3 + 1 for i in range(7)]
    assert all(e.doc_id == d.document.doc_id for d in docs for e in d.events + d.entities)


def test_model_dead_letters_say_which_sentence():
    (chunk,) = prepare_article(ARTICLES[0], 120, 24)[1]
    (dead,) = model_dead_letters(Stage.EVENTS, [chunk], "ValueError('x')")
    assert (dead.stage, dead.reason, dead.doc_id, dead.payload, dead.input_location) == (
        "events", "model_failed", "a", "Workers marched on Monday.", "sentence 0")
