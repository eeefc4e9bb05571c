"""``--mode append`` writes nothing the output holds, by id or by text, in both layouts (issue 15, part 1)."""

from __future__ import annotations

import json
import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from newsevents.pipeline.io.commit import document_files
from newsevents.pipeline.run import run
from newsevents.pipeline.transforms.dedup import Deduplicate, InOutput, output_keys, text_key
from newsevents.schemas.arrow import DOCUMENTS, TABLES
from newsevents.schemas.errors import ALREADY_IN_OUTPUT
from newsevents.schemas.records import Article


def _article(doc_id, text, line):
    return Article(doc_id, text, input_location=f"new.jsonl:{line}")


def test_articles_already_in_the_output_become_duplicates_by_id_and_by_text():
    earlier = [InOutput("a", text_key("Old text of a.")), InOutput("b", text_key("Police arrested 14 in Lagos.")),
               InOutput("old", None)]  # a document written before schema 1.4.0: no text key
    articles = [_article("a", "A new text under an old id.", 1), _article("a", "And another.", 2),
                _article("b2", "  POLICE arrested   14 in Lagos.\n", 3),  # b's text once normalised
                _article("old", "Anything.", 4),
                _article("c", "Something new.", 5), _article("c2", "something   NEW.", 6)]  # a duplicate within the run
    with BeamPipeline() as p:
        unique, dead = p | "Articles" >> beam.Create(articles) | Deduplicate(p | "Earlier" >> beam.Create(earlier))
        assert_that(unique | "Ids" >> beam.Map(lambda a: a.doc_id), equal_to(["c"]), label="unique")
        assert_that(dead | "Why" >> beam.Map(lambda d: (d.doc_id, d.reason, d.error.split(" as ")[0])), equal_to([
            ("a", "duplicate", f"{ALREADY_IN_OUTPUT} same id"), ("a", "duplicate", f"{ALREADY_IN_OUTPUT} same id"),
            ("b2", "duplicate", f"{ALREADY_IN_OUTPUT} same text"), ("old", "duplicate", f"{ALREADY_IN_OUTPUT} same id"),
            ("c2", "duplicate", "Duplicate article: same text")]), label="dead")
        kept = (dead | "B2" >> beam.Filter(lambda d: d.doc_id == "b2")
                | "Names" >> beam.Map(lambda d: "'b' an earlier run" in d.error))
        assert_that(kept, equal_to([True]), label="names the document kept")


def test_output_keys_read_the_key_columns_and_match_old_files_by_id(tmp_path):
    new = tmp_path / "new.parquet"
    pq.write_table(pa.Table.from_pylist([{"doc_id": "x", "n_chars": 1, "n_sentences": 1, "n_mentions": 0,
                                          "n_events": 0, "status": "ok", "text_hash": "h"}], schema=DOCUMENTS), new)
    old = tmp_path / "old.parquet"  # schema 1.3.0: no text_hash column
    pq.write_table(pa.table({"doc_id": ["y", "z"], "title": ["T", None]}), old)
    assert list(output_keys(str(new))) == [InOutput("x", "h")]
    assert list(output_keys(str(old))) == [InOutput("y", None), InOutput("z", None)]


def test_document_files_skip_hidden_files_and_the_runs_own(tmp_path):
    docs = tmp_path / "documents"
    for rel in ("part-r1-00000.parquet", "published_date=2026-01-01/part-r2-00000.parquet",
                "published_date=2026-01-01/.part-r3.parquet", "_tmp/part-r4-00000.parquet", "notes.txt"):
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_bytes(b"")
    names = [os.path.relpath(f, docs) for f in document_files(str(tmp_path))]
    assert names == ["part-r1-00000.parquet", "published_date=2026-01-01/part-r2-00000.parquet"]
    assert [os.path.basename(f) for f in document_files(str(tmp_path), exclude_run="r1")] == ["part-r2-00000.parquet"]


def test_the_summary_counts_duplicates_already_in_the_output(tmp_path):
    from newsevents.pipeline.metrics import summarise
    from newsevents.schemas.records import DeadLetter, as_row

    dead = [DeadLetter("read", "duplicate", f"{ALREADY_IN_OUTPUT} same id as ...", "a", "", "in.jsonl:1"),
            DeadLetter("read", "duplicate", "Duplicate article: same text as ...", "b", "", "in.jsonl:2"),
            DeadLetter("read", "invalid_json", "Not JSON.", None, "{", "in.jsonl:3")]
    (tmp_path / "dead_letters").mkdir()
    pq.write_table(pa.Table.from_pylist([as_row(d) for d in dead], schema=TABLES["dead_letters"]),
                   tmp_path / "dead_letters" / "part-0.parquet")
    summary = summarise(str(tmp_path), {"in.jsonl": 3}, 1.0, [])
    assert (summary["duplicates"], summary["already_in_output"], summary["accounted"]) == (2, 1, True)


# Real runs on the bundled samples: an output of two articles, then an append of one of them
# again (same id), the other's text under a new id, a new article and a line that is no record.

def _inputs(samples_dir, tmp_path):
    lines = open(samples_dir / "articles.jsonl", encoding="utf-8").read().splitlines()
    first, second, third = (json.loads(line) for line in lines[:3])
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "a.jsonl").write_text(lines[0] + "\n" + lines[1] + "\n", encoding="utf-8")
    copy = {"id": "copy-of-" + first["id"], "text": "  " + first["text"].upper().replace(" ", "  ")}
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "b.jsonl").write_text("\n".join([lines[1], json.dumps(copy), lines[2], "{not json"]) + "\n",
                                            encoding="utf-8")
    return first["id"], second["id"], third["id"], copy["id"]


def _run(inp, out, *extra):
    return run(["--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet", *extra])


def _rows(out, table) -> list[dict]:
    return ds.dataset(os.path.join(out, table), partitioning="hive").to_table().to_pylist()


def _tables(out) -> dict[str, list[str]]:
    return {t: sorted(json.dumps(r, sort_keys=True, default=str) for r in _rows(out, t)) for t in TABLES}


def _without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("seconds", "documents_per_s")}


@pytest.mark.parametrize("layout", [[], ["--partition-by", "published_date"]], ids=["plain", "partitioned"])
def test_appending_articles_already_in_the_output_adds_nothing(samples_dir, tmp_path, layout):
    first, second, third, copy = _inputs(samples_dir, tmp_path)
    out = tmp_path / "out"
    _run(tmp_path / "a", out, *layout)
    before = _tables(out)
    summary = _run(tmp_path / "b", out, "--mode", "append", *layout)
    assert summary["accounted"] and summary["records_read"] == 4 and summary["documents_written"] == 1
    assert summary["duplicates"] == summary["already_in_output"] == 2
    assert summary["dead_letters_by_reason"] == {"duplicate": 2, "invalid_json": 1}
    docs = _rows(out, "documents")
    assert sorted(d["doc_id"] for d in docs) == sorted([first, second, third])
    assert all(d["text_hash"] for d in docs)
    events = [e["event_id"] for e in _rows(out, "events")]
    assert events and len(events) == len(set(events))
    after = _tables(out)
    for table in ("documents", "entities", "events"):  # the earlier run's rows untouched, the new article's added
        assert set(before[table]) <= set(after[table])
        assert all(json.loads(r)["doc_id"] == third for r in set(after[table]) - set(before[table]))
    dups = {d["doc_id"]: d["error"] for d in _rows(out, "dead_letters") if d["reason"] == "duplicate"}
    assert sorted(dups) == sorted([second, copy]) and all(e.startswith(ALREADY_IN_OUTPUT) for e in dups.values())
    assert repr(first) in dups[copy]

    appended = _tables(out)
    again = _run(tmp_path / "b", out, "--mode", "append", *layout)
    assert _tables(out) == appended  # dead letters included: the same job replaced its own files
    assert _without_timing(again) == _without_timing(summary)
    assert not list((out / "_staging").glob("*"))
