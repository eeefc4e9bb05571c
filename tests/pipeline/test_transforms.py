"""Each Beam transform of the pipeline on a few hand-made records, with ``TestPipeline`` + ``assert_that`` (issue 17).

The per-document rules are tested on plain Python in ``tests/models/``; these tests check the
thin Beam wrappers: what goes to which output, keyed and joined right. ``KeepWritable`` is
covered the same way in ``test_guarded_stages.py``, and ``Deduplicate`` against an earlier
run's output in ``test_append.py``.
"""

from __future__ import annotations

import datetime as dt
import time

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to
from newsevents.models.document import prepare_article
from newsevents.pipeline.io.write_tables import TableRows, row_of
from newsevents.pipeline.split import SplitByType
from newsevents.pipeline.streaming import EventTimeWindows
from newsevents.pipeline.transforms.assemble import Assemble
from newsevents.pipeline.transforms.batched_inference import BatchedInference
from newsevents.pipeline.transforms.dedup import Deduplicate
from newsevents.pipeline.transforms.prepare import PrepareArticles
from newsevents.schemas.records import Article, Chunk, DeadLetter, DocumentRecord, EntityMention, SentenceEvent


def _doc(doc_id: str, status: str = "pending") -> DocumentRecord:
    return DocumentRecord(doc_id, None, None, None, None, None, 60, 2, 0, 0, status, [], f"in.jsonl:{doc_id}")


def test_split_by_type_sends_each_record_to_its_types_output_in_the_order_given():
    article, dead = Article("a", "Text."), DeadLetter("read", "invalid_json", "bad", "x")
    with BeamPipeline() as p:
        articles, dead_letters = p | beam.Create([dead, article, 7]) | SplitByType(Article, DeadLetter)
        assert_that(articles, equal_to([article]), label="articles")
        assert_that(dead_letters, equal_to([dead]), label="dead letters")  # the int matches neither: dropped


def test_prepare_articles_gives_chunks_documents_and_an_empty_text_dead_letter():
    article = Article("a", "Police arrested ten people in Lagos on Monday. Protesters marched to the state house.")
    _, chunks = prepare_article(article, 6, 2)
    assert len(chunks) > 2  # small chunks: the sentences are cut, so the chunk output is more than one row
    with BeamPipeline() as p:
        blank = Article("e", "<html><body> \x00 </body></html>", input_location="f:2")
        out_chunks, documents, dead = p | beam.Create([article, blank]) | PrepareArticles(max_words=6, overlap=2)
        assert_that(out_chunks, equal_to(chunks), label="chunks")
        assert_that(documents | beam.Map(lambda d: (d.doc_id, d.n_sentences, d.status)),
                    equal_to([("a", 2, "pending")]), label="documents")
        assert_that(dead | beam.Map(lambda d: (d.stage, d.reason, d.doc_id, d.input_location)),
                    equal_to([("prepare", "empty_text", "e", "f:2")]), label="dead letters")


def _event(doc_id: str) -> SentenceEvent:
    return SentenceEvent(doc_id, 1, 40, 80, "PROTEST", "marched", "Protesters", 40, 50, "PER", None, None, None, None,
                         None, 0.9, "events.v1")


def test_assemble_finishes_each_document_from_its_mentions_events_and_failed_chunks():
    mentions = [EntityMention("d", 0, "m1", "Lagos", "LOC", 30, 35, 0.9, "ner"),
                EntityMention("d", 1, "m2", "Protesters", "PER", 40, 50, 0.9, "ner"),
                EntityMention("p", 0, "m3", "Abuja", "LOC", 0, 5, 0.9, "ner")]
    failed = Chunk("p", 1, 0, 20, 40, ("x",), ((20, 21),), 20, 40, "x")
    with BeamPipeline() as p:
        documents, events, dead = (
            p | "Docs" >> beam.Create([_doc("d"), _doc("p")]), p | "Mentions" >> beam.Create(mentions),
            p | "Events" >> beam.Create([_event("d")]), p | "Failed" >> beam.Create([failed]),
            p | "Dropped" >> beam.Create([]),
        ) | Assemble("ner.v1", "0.1.0")
        assert_that(documents | beam.Map(lambda d: (d.doc_id, d.n_mentions, d.n_events, d.status)),
                    equal_to([("d", 2, 1, "ok"), ("p", 1, 0, "partial")]), label="documents")
        assert_that(events | beam.Map(lambda e: (e.doc_id, e.event_type, e.location, e.ner_model)),
                    equal_to([("d", "PROTEST", "Lagos", "ner.v1")]), label="events")  # the lead's place
        assert_that(dead, equal_to([]), label="dead letters")


def test_deduplicate_keeps_the_first_copy_of_an_id_and_dead_letters_the_other():
    first, again = Article("a", "One text.", input_location="f.jsonl:9"), Article("a", "Other.", input_location="f.jsonl:10")
    other = Article("b", "Unrelated text.", input_location="f.jsonl:11")
    with BeamPipeline() as p:
        unique, dead = p | beam.Create([again, other, first]) | Deduplicate()
        assert_that(unique, equal_to([first, other]), label="unique")  # line 9 before line 10, not input order
        assert_that(dead | beam.Map(lambda d: (d.doc_id, d.reason, d.input_location)),
                    equal_to([("a", "duplicate", "f.jsonl:10")]), label="dead letters")


def test_event_time_windows_window_articles_by_published_and_dead_letters_by_arrival():
    window_s, now = 60, time.time()
    recent = Article("recent", "t", published=dt.datetime.fromtimestamp(now - 1000, dt.timezone.utc))
    old = Article("old", "t", published=dt.datetime.fromtimestamp(now - 10 * 86_400, dt.timezone.utc))
    expected = int(now - 1000) // window_s * window_s

    def starts(pcoll, label):
        return pcoll | label >> beam.Map(lambda r, w=beam.DoFn.WindowParam: (r.doc_id, w.start.micros // 10**6,
                                                                              w.end.micros // 10**6 - w.start.micros // 10**6))

    def arrival_windows(ids):
        def check(actual):
            late = time.time()
            if sorted(i for i, _, _ in actual) != sorted(ids):
                raise BeamAssertException(f"records {actual}, expected {ids}")
            for doc_id, start, size in actual:
                if size != window_s or not now - window_s <= start <= late:
                    raise BeamAssertException(f"{doc_id} windowed at {start} (+{size}), not at its arrival")
        return check

    with BeamPipeline() as p:
        articles, dead = (p | "Articles" >> beam.Create([recent, old]),
                          p | "Dead" >> beam.Create([DeadLetter("read", "invalid_json", "bad", "x")])) | (
            EventTimeWindows(window_s, 3600))
        windows = starts(articles, "ArticleWindows")
        assert_that(windows | beam.Filter(lambda w: w[0] == "recent"), equal_to([("recent", expected, window_s)]),
                    label="published")
        assert_that(windows | "Old" >> beam.Filter(lambda w: w[0] == "old"), arrival_windows(["old"]),
                    label="too old: arrival")
        assert_that(starts(dead, "DeadWindows"), arrival_windows(["x"]), label="dead letters: arrival")


class _TimesTen(ModelHandler):
    """A fake model stage: multiplies by the loaded model (10); a batch holding a negative number fails."""

    def load_model(self):
        return 10

    def run_inference(self, batch, model, inference_args=None):
        if any(x < 0 for _, x in batch):
            raise ValueError("negative input")
        return [PredictionResult((doc_id, x), x * model) for doc_id, x in batch]

    def batch_elements_kwargs(self):
        return {"max_batch_size": 2}


def test_batched_inference_returns_every_result_or_its_failed_batch():
    good = [("a", 1), ("a", 2), ("a", 3), ("b", 4), ("c", 5)]
    bad = ("d", -1)

    def check_failures(failures):
        if len(failures) != 1 or failures[0][1] != "ValueError: negative input" or bad not in failures[0][0]:
            raise BeamAssertException(f"expected one failed batch holding {bad}, got {failures}")
        if not 1 <= len(failures[0][0]) <= 2:
            raise BeamAssertException(f"a failed batch is larger than the handler's max_batch_size: {failures}")

    def check_results(results):
        if any(r.inference != r.example[1] * 10 for r in results):
            raise BeamAssertException(f"an inference is not its own example's: {results}")

    with BeamPipeline() as p:
        results, failures = p | beam.Create([*good, bad]) | BatchedInference(_TimesTen(), lambda x: x[0], shards=1)
        assert_that(results, check_results, label="results")
        assert_that(failures, check_failures, label="failures")
        # Every element comes back once: as a result, or inside its failed batch.
        everything = ((results | beam.Map(lambda r: r.example)),
                      (failures | beam.FlatMap(lambda f: f[0]))) | beam.Flatten()
        assert_that(everything, equal_to([*good, bad]), label="all accounted for")


def test_table_rows_convert_salvage_or_dead_letter_each_document():
    good = _doc("d", status="ok")
    salvaged = DocumentRecord("s", "ok title", "http://x/\udfff", None, None, None, 10, 1, 0, 0, "ok", [], "in:3")
    unfixable = DocumentRecord("u\udfff", None, None, None, None, None, 10, 1, 0, 0, "ok", [], "in:4")
    with BeamPipeline() as p:
        rows, dead = p | beam.Create([good, salvaged, unfixable]) | TableRows("documents")
        assert_that(rows | beam.Map(lambda r: (r["doc_id"], r["url"], r["status"])),
                    equal_to([("d", None, "ok"), ("s", None, "partial")]), label="rows")
        assert_that(rows | "Good" >> beam.Filter(lambda r: r["doc_id"] == "d"), equal_to([row_of(good, "documents")]),
                    label="the row of a fitting document")
        assert_that(dead | beam.Map(lambda d: (d.stage, d.reason, d.input_location)),
                    equal_to([("write", "internal_error", "in:4")]), label="dead letters")
