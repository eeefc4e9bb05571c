"""Guarded stages (issue 14): one document's unexpected failure never fails the run.

One real run on the DirectRunner with the shipped models, where a different
document fails in each stage (dedup, prepare, assembly, writing) and three carry
lone surrogates (in the id, the title, the text), which the reader replaces: the run exits 0,
each failing document is a dead letter naming the exception and the line that
raised it, or a ``partial`` document with a note, and the accounting holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import pyarrow.parquet as pq
import pytest
from newsevents.schemas.errors import describe_exception
from newsevents.schemas.records import DeadLetter, DocumentRecord, EventRecord, SentenceEvent

HERE = "tests/pipeline/test_guarded_stages.py"


def _boom(where: str):
    raise RuntimeError(f"planted failure in {where}")


BOOM_AT = f"{HERE}:{_boom.__code__.co_firstlineno + 1}"  # the raise line above

ARTICLES = [
    {"id": "ok", "text": "Police in Lagos arrested 14 protesters outside the governor's office on Friday."},
    {"id": "dedup-boom", "text": "Kenya and Uganda signed a trade accord in Nairobi on Monday."},
    # A lone surrogate, replaced by the reader, so its dead letter's payload can be written.
    {"id": "prepare-boom", "text": "Rebels attacked a village near Goma on Sunday.\ud800"},
    {"id": "events-boom", "text": "Police arrested the opposition leader Musa Bello in Abuja on Friday. "
                                  "Protesters attacked a police station in Kano on Saturday."},
    {"id": "assemble-boom", "text": "France expelled two Russian diplomats from Paris on Tuesday."},
    {"id": "write-boom", "text": "Soldiers shot three protesters in Yangon on Wednesday."},
    {"id": "bad-title", "title": "Lagos \ud800 arrests",
     "text": "The governor of Lagos met union leaders on Thursday."},
    {"id": "bad-id-\udc00", "text": "Ukraine and Poland signed a border agreement in Warsaw."},
]


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory):
    # The per-document work is the core's (models.document, models.assembly), which the Beam stages call.
    import newsevents.models.assembly as assemble
    import newsevents.models.document as prepare
    import newsevents.pipeline.io.write_tables as write_tables
    import newsevents.pipeline.transforms.dedup as dedup
    from newsevents.pipeline.run import main

    real = {"text_key": dedup.text_key, "prepare": prepare.prepare_article, "events": assemble.assemble_events,
            "finish": assemble.finish_document, "row_of": write_tables.row_of}
    dedup_text = ARTICLES[1]["text"]

    def text_key(text):
        return _boom("dedup") if text == dedup_text else real["text_key"](text)

    def prepare_article(article, *args):
        return _boom("prepare") if article.doc_id == "prepare-boom" else real["prepare"](article, *args)

    def assemble_events(doc, events, *args, **kwargs):
        if doc.doc_id == "events-boom" and any(e.sentence_index == 1 for e in events):
            _boom("assembly of one event")
        return real["events"](doc, events, *args, **kwargs)

    def finish_document(doc, *args, **kwargs):
        return _boom("assembly") if doc.doc_id == "assemble-boom" else real["finish"](doc, *args, **kwargs)

    def row_of(record, table):
        if isinstance(record, DocumentRecord) and record.doc_id == "write-boom":
            _boom("writing")
        return real["row_of"](record, table)

    inp, out = tmp_path_factory.mktemp("in"), tmp_path_factory.mktemp("out")
    # ensure_ascii keeps the lone surrogates as \ud800 escapes: valid JSON, as archives hold them.
    (inp / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dedup, "text_key", text_key)
        mp.setattr(prepare, "prepare_article", prepare_article)
        mp.setattr(assemble, "assemble_events", assemble_events)
        mp.setattr(assemble, "finish_document", finish_document)
        mp.setattr(write_tables, "row_of", row_of)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["run", "--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet"])
    assert code == 0, f"the run failed: {err.getvalue()[-2000:]}"
    summary = json.loads((out / "_SUMMARY.json").read_text())
    tables = {t: pq.read_table(out / t).to_pylist() for t in ("documents", "entities", "events", "dead_letters")}
    return code, summary, tables


def test_run_exits_0_and_every_record_is_one_document_or_one_dead_letter(guarded_run):
    code, summary, tables = guarded_run
    assert code == 0 and summary["accounted"] is True
    assert summary["records_read"] == len(ARTICLES) == summary["documents_written"] + summary["record_dead_letters"]
    assert sorted(d["doc_id"] for d in tables["documents"]) == ["bad-id-\ufffd", "bad-title", "events-boom", "ok"]
    dead = sorted((d["doc_id"], d["stage"], d["reason"]) for d in tables["dead_letters"])
    assert dead == [("assemble-boom", "assemble", "internal_error"),
                    ("dedup-boom", "read", "internal_error"), ("prepare-boom", "prepare", "internal_error"),
                    ("write-boom", "write", "internal_error")]


@pytest.mark.parametrize("doc_id, where", [("dedup-boom", "dedup"), ("prepare-boom", "prepare"),
                                           ("assemble-boom", "assembly"), ("write-boom", "writing")])
def test_a_failing_document_is_a_dead_letter_naming_the_exception_and_its_line(guarded_run, doc_id, where):
    dead = {d["doc_id"]: d for d in guarded_run[2]["dead_letters"]}[doc_id]
    assert f"RuntimeError: planted failure in {where} ({BOOM_AT})" in dead["error"]
    assert dead["input_location"].endswith(f"a.jsonl:{[a['id'] for a in ARTICLES].index(doc_id) + 1}")
    assert dead["payload"]


def test_lone_surrogates_are_replaced_in_place_by_the_reader(guarded_run):
    dead = {d["doc_id"]: d for d in guarded_run[2]["dead_letters"]}
    assert dead["prepare-boom"]["payload"] == ARTICLES[2]["text"][:-1] + "\ufffd"
    doc = {d["doc_id"]: d for d in guarded_run[2]["documents"]}["bad-id-\ufffd"]
    assert [n for n in doc["notes"] if "surrogate" in n]


def test_an_event_that_fails_to_assemble_leaves_a_partial_document_with_its_other_events(guarded_run):
    _, summary, tables = guarded_run
    doc = {d["doc_id"]: d for d in tables["documents"]}["events-boom"]
    events = [e for e in tables["events"] if e["doc_id"] == "events-boom"]
    assert doc["status"] == "partial"
    assert events and {e["sentence_index"] for e in events} == {0} and doc["n_events"] == len(events)
    dropped = [n for n in doc["notes"] if n.startswith("events: ")]
    assert dropped and all(f"of sentence 1 was dropped: assembling it raised RuntimeError: planted failure in "
                           f"assembly of one event ({BOOM_AT})" in n for n in dropped)
    assert summary["documents_by_status"]["partial"] == 1


def test_a_title_with_a_lone_surrogate_is_kept_with_the_replacement_character_and_noted(guarded_run):
    doc = {d["doc_id"]: d for d in guarded_run[2]["documents"]}["bad-title"]
    assert doc["title"] == "Lagos \ufffd arrests"
    assert [n for n in doc["notes"] if n.startswith("title: lone surrogate")]


def test_the_other_documents_are_intact(guarded_run):
    _, _, tables = guarded_run
    docs = {d["doc_id"]: d for d in tables["documents"]}
    assert docs["ok"]["status"] == "ok" and not docs["ok"]["notes"]
    for doc_id, doc in docs.items():
        assert doc["n_mentions"] == sum(m["doc_id"] == doc_id for m in tables["entities"])
        assert doc["n_events"] == sum(e["doc_id"] == doc_id for e in tables["events"])
    assert ("Lagos", "LOC") in {(m["text"], m["label"]) for m in tables["entities"] if m["doc_id"] == "ok"}
    assert any(e["doc_id"] == "ok" for e in tables["events"])


# Without the models: the pieces the run above relies on.


def _event(sentence: int, event_type: str = "ASSAULT") -> SentenceEvent:
    return SentenceEvent("d", sentence, 0, 10, event_type, None, None, None, None, None, None, None, None, None,
                         None, 0.9, "m")


def _row(sentence: int, sentence_text: str | None = None) -> EventRecord:
    return EventRecord(f"e{sentence}", "d", sentence, 0, 10, None, "ASSAULT", None, None, None, None, None, None,
                       None, None, None, None, None, None, 0.9, 1, None, "ner", "ev", "0", sentence_text)


def test_assemble_guarded_drops_only_the_events_whose_addition_raises():
    from newsevents.models.assembly import assemble_guarded

    def fake(events):  # fails on sentence 2's event, but only once sentence 0's is there (a context failure)
        sentences = {e.sentence_index for e in events}
        if {0, 2} <= sentences:
            raise ValueError("day is out of range for month")
        return [_row(s, "sentence\udfff" if s == 3 else None) for s in sorted(sentences)]

    rows, notes = assemble_guarded(fake, [_event(2, "COERCE"), _event(1), _event(0)])
    assert [r.sentence_index for r in rows] == [0, 1]
    assert len(notes) == 1 and notes[0].startswith(
        "events: the COERCE event of sentence 2 was dropped: assembling it raised ValueError: day is out of range")
    assert f"({HERE}:" in notes[0]
    assert assemble_guarded(fake, [_event(1), _event(2)]) == ([_row(1), _row(2)], [])
    # An event row the events table cannot store is dropped with a note, the others kept.
    rows, notes = assemble_guarded(fake, [_event(1), _event(3)])
    assert rows == [_row(1)] and len(notes) == 1
    assert notes[0].startswith("events: the ASSAULT event of sentence 3 was dropped: its row does not fit the table "
                               "(UnicodeEncodeError")


def test_describe_exception_gives_type_message_and_the_raising_line():
    try:
        _boom("here")
    except RuntimeError as exc:
        assert describe_exception(exc) == f"RuntimeError: planted failure in here ({BOOM_AT})"


def test_rows_that_do_not_fit_are_salvaged_dead_lettered_or_escaped():
    from newsevents.pipeline.io.write_tables import _ToRows

    doc = DocumentRecord("d1", "ok title", "http://x/\udfff", None, dt.datetime(2024, 2, 29, tzinfo=dt.timezone.utc),
                         None, 10, 1, 0, 0, "ok", [], "in.jsonl:3")
    [row] = _ToRows("documents").process(doc)
    assert row["url"] is None and row["title"] == "ok title" and row["status"] == "partial"
    assert row["notes"][0].startswith("url: could not be stored (UnicodeEncodeError")

    unfixable = DocumentRecord("d\udfff", None, None, None, None, None, 10, 1, 0, 0, "ok", [], "in.jsonl:4")
    [dead] = _ToRows("documents").process(unfixable)
    assert isinstance(dead, DeadLetter) and (dead.stage, dead.reason) == ("write", "internal_error")
    assert "so the document was not written: UnicodeEncodeError" in dead.error
    assert dead.input_location == "in.jsonl:4"
    [row] = _ToRows("dead_letters").process(dead)  # and that dead letter is itself writable
    assert row["doc_id"] == "d\\udfff"

    [row] = _ToRows("dead_letters").process(DeadLetter(None, "x", "no stage"))  # type: ignore[arg-type]
    assert (row["stage"], row["reason"]) == ("write", "internal_error")
    assert "column 'stage' may not be null" in row["error"] and "no stage" in row["payload"]


def test_mentions_whose_rows_do_not_fit_are_dropped_before_they_fork():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to
    from newsevents.pipeline.transforms.assemble import KeepWritable
    from newsevents.schemas.records import EntityMention

    good = EntityMention("d", 0, "m1", "Lagos", "LOC", 9, 14, 0.9, "ner")
    bad = EntityMention("d", 0, "m2", "Jean\udfffPierre", "PER", 20, 35, 0.9, "ner")
    with TestPipeline() as p:
        kept, dropped = p | beam.Create([good, bad]) | KeepWritable("entities", EntityMention)
        assert_that(kept, equal_to([good]), label="kept")
        notes = dropped | beam.Map(lambda d: (d.doc_id, d.note.split(" (")[0]))
        assert_that(notes, equal_to([("d", "entities: the PER mention at characters 20-35 was dropped: "
                                           "its row does not fit the table")]), label="dropped")
