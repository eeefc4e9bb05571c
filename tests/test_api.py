"""The Python API (``newsevents.load()``): the pipeline's rows from a notebook, without Beam.

The parity test compares the API with the session's DirectRunner run over ``samples/``
(``sample_output``, tests/conftest.py): every row of every table, ids included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from newsevents.schemas.arrow import TABLES

import newsevents
from newsevents.api import text_id
from tests.subproc import run_python

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"documents": "doc_id", "entities": "mention_id", "events": "event_id", "dead_letters": "doc_id"}
# The one column that says where a row came from: "samples/articles.jsonl:3" in a run, "[2]" here.
RUN_SPECIFIC = ("input_location",)
LAGOS = "Police arrested the opposition leader Musa Bello in Lagos on Friday."


@pytest.fixture(scope="module")
def ex():
    return newsevents.load(device="cpu")


def _rows(table, key: str) -> list[dict]:
    rows = [{k: v for k, v in r.items() if k not in RUN_SPECIFIC} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: (r[key] is None, r[key] or ""))


@pytest.fixture(scope="module")
def sample_docs(ex, samples_dir):
    records = [json.loads(line) for line in (samples_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    return list(ex.pipe(records, batch_size=64))


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_api_gives_the_rows_of_a_pipeline_run(ex, sample_docs, sample_output, table):
    ours = _rows(ex.to_arrow(sample_docs, table=table), KEYS[table])
    theirs = _rows(pq.read_table(sample_output / table), KEYS[table])
    assert ours == theirs
    if table != "dead_letters":  # the samples are all good articles
        assert len(ours) >= 12


def test_a_plain_text_gives_its_document_entities_and_events(ex):
    doc = ex(LAGOS, published="2026-03-06")
    assert doc.dead_letter is None and doc.dead_letters == []
    assert doc.document.doc_id == text_id(LAGOS)
    assert (doc.document.status, doc.document.n_mentions, doc.document.n_events) == ("ok", len(doc.entities), 1)
    assert [(m.text, m.label) for m in doc.entities] == [("Musa Bello", "PER"), ("Lagos", "LOC")]
    assert all(LAGOS[m.char_start : m.char_end] == m.text for m in doc.entities)
    [event] = doc.events
    assert (event.event_type, event.source_text, event.target_text) == ("COERCE", "Police", "Musa Bello")
    assert (event.location, event.country_code, event.time_text) == ("Lagos", "NGA", "on Friday")
    assert event.event_date.isoformat() == "2026-03-06" and event.doc_id == doc.document.doc_id
    # The keywords are the input file's fields: the same as that dict through pipe().
    [same] = ex.pipe([{"id": "lagos-1", "text": LAGOS, "published": "2026-03-06", "source": "Wire"}])
    assert ex(LAGOS, id="lagos-1", published="2026-03-06", source="Wire") == same
    assert same.document.source == "Wire"


def test_pipe_keeps_the_order_and_makes_bad_inputs_dead_letters(ex):
    from newsevents.pipeline.io.read_articles import parse_json_record

    bad = [{"id": "no-text"}, {"id": "", "text": "Rain in Oslo."}, {"id": "n", "text": 7},
           {"id": "big", "text": "x" * 101}, {"id": "blank", "text": "<div><p></p><br></div><p> </p>"}]
    inputs = ["Kenya and Uganda signed a trade accord in Nairobi on Monday.", bad[0],
              {"id": 42, "text": "Rebels attacked a village near Goma.", "published": "not a date"},
              bad[1], 17, bad[2], "", bad[3], bad[4]]
    docs = list(ex.pipe(inputs, batch_size=2))
    assert len(docs) == len(inputs)
    assert docs[0].document.doc_id.startswith("text-") and docs[0].events
    assert docs[2].document.doc_id == "42" and "published: 'not a date' is not an ISO 8601 date; set to null." in \
        docs[2].document.notes
    docs[7:8] = list(newsevents.load(device="cpu", max_article_chars=100).pipe([bad[3]]))
    reasons = [d.dead_letter and d.dead_letter.reason for d in docs]
    assert reasons == [None, "missing_text", None, "missing_id", "not_an_object", "text_not_string", "empty_text",
                       "too_large", "empty_text"]
    # The reader's own validation: each bad dict is the dead letter its JSON line would be (but its location).
    for i, record in ((1, bad[0]), (3, bad[1]), (5, bad[2])):
        assert docs[i].dead_letter == parse_json_record(json.dumps(record).encode(), f"[{i}]", 1_000_000)
    # Markup only: prepared, then nothing left, as in a run (stage prepare).
    assert (docs[8].document, docs[8].dead_letter.stage, docs[8].dead_letter.reason) == (None, "prepare", "empty_text")


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_pipe_is_lazy_and_gives_one_document_per_input_in_order(ex, batch_size):
    texts = [f"Protesters marched in Nairobi on day {i}." for i in range(5)]
    taken = []

    def feed():
        for t in texts:
            taken.append(t)
            yield t

    it = ex.pipe(feed(), batch_size=batch_size)
    first = next(it)
    assert len(taken) == batch_size  # only the first batch was read
    docs = [first, *it]
    assert [d.document.doc_id for d in docs] == [text_id(t) for t in texts]
    assert [d.document.input_location for d in docs] == [f"[{i}]" for i in range(5)]


def test_to_arrow_has_the_schemas_of_the_parquet_output(ex, sample_docs, sample_output):
    for table, schema in TABLES.items():
        got = ex.to_arrow(sample_docs, table=table)
        assert got.schema.equals(schema, check_metadata=True)
        written = pq.read_schema(next((sample_output / table).glob("*.parquet")))
        assert got.schema.equals(written.remove_metadata().with_metadata(schema.metadata))
    one = ex(LAGOS)
    assert ex.to_arrow(one, table="entities").num_rows == len(one.entities)
    with pytest.raises(ValueError, match="Unknown table 'event'"):
        ex.to_arrow([one], table="event")


def test_import_newsevents_stays_light():
    code = ("import sys, newsevents, newsevents.schemas.records; "
            "assert 'newsevents.api' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules); "
            "assert callable(newsevents.load) and 'newsevents.api' in sys.modules; "
            "assert set(newsevents.__all__) <= set(dir(newsevents))")
    proc = run_python(["-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Python API\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section is not None, "README.md has no '## Python API' section"
    blocks = re.findall(r"^```python\n(.*?)^```", section.group(1), re.S | re.M)
    assert blocks, "the Python API section has no python example"
    return blocks[0]


def test_the_readme_example_runs(capsys):
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md (Python API)", "exec"), namespace)
    doc, docs, events = namespace["doc"], namespace["docs"], namespace["events"]
    assert doc.events and doc.document.status == "ok"
    assert [d.dead_letter is None for d in docs] == [True, True, False]
    assert events.schema.equals(TABLES["events"]) and events.num_rows == sum(len(d.events) for d in docs)
    assert "COERCE" in capsys.readouterr().out


def test_load_loads_each_model_once_and_names_a_damaged_file(tmp_path, monkeypatch):
    import shutil

    from newsevents.models.base import TransformerHandler
    from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, REGISTRY
    from newsevents.schemas.errors import ModelLoadError

    calls = []
    real = TransformerHandler.load_checked
    monkeypatch.setattr(TransformerHandler, "load_checked", lambda self: calls.append(self.model_name) or real(self))
    newsevents.load(device="cpu")
    assert sorted(calls) == sorted([DEFAULT_NER, DEFAULT_EVENTS])  # no second, pre-flight load

    broken = Path(shutil.copytree(REGISTRY[DEFAULT_NER], tmp_path / "ner"))
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # a download cut short
    with pytest.raises(ModelLoadError, match=r"does not load|model\.safetensors") as caught:
        newsevents.load(ner_model=str(broken), device="cpu")
    assert "\n" not in str(caught.value)
