"""Hostile and extreme input: property-based checks of the pure stages, and real runs.

Every record must end as a document or a dead letter with a reason; every
offset written must slice the original text; nothing may raise. And the models
must have run on each document: no ``model_failed`` dead letter, no ``partial``
document, and mentions found wherever the input is real text.
"""

from __future__ import annotations

import json
import os

import pyarrow.dataset as ds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from newsevents.models.document import prepare_article
from newsevents.pipeline.io.read_articles import parse_json_record
from newsevents.pipeline.run import run
from newsevents.schemas.errors import Reason
from newsevents.schemas.records import Article, DeadLetter

# Characters that break naive text handling: RTL and bidi marks, zero-width,
# NUL and other controls, combining marks, emoji with joiners, CJK, surrogates' neighbours.
NASTY = "\u202e\u200f\u200b\u200d\ufeff\x00\x07\r\u2028\u0301\U0001f469\u200d\U0001f4bb\u05e9\u0644\u6771"
text_st = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(NASTY), st.sampled_from(" .\n")),
                  max_size=400)


def _check_prepared(article: Article, result) -> None:
    if isinstance(result, DeadLetter):
        assert result.reason and result.error
        return
    doc, chunks = result
    assert doc.doc_id == article.doc_id
    for c in chunks:
        assert article.text[c.char_start : c.char_end] == c.surface
        assert c.char_start <= c.own_start <= c.own_end <= c.char_end + 1
        prev = c.char_start
        for i, (s, e) in enumerate(c.word_spans):
            # Words are the cleaned forms (a control character inside a word is
            # dropped); their spans, and every slice the tables get, are original.
            assert prev <= s < e <= c.char_end
            assert c.word_range(i, i + 1) == (article.text[s:e], s, e)
            prev = e


@settings(max_examples=300, deadline=None)
@given(doc_id=st.one_of(st.text(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
       text=st.one_of(text_st, st.integers(), st.none(), st.dictionaries(st.text(max_size=3), st.integers())),
       published=st.one_of(st.text(max_size=30), st.integers(), st.none()),
       title=st.one_of(st.text(max_size=20), st.floats(), st.none()))
def test_any_json_record_is_an_article_or_a_dead_letter_and_offsets_slice(doc_id, text, published, title):
    raw = json.dumps({"id": doc_id, "text": text, "published": published, "title": title}).encode()
    result = parse_json_record(raw, "f.jsonl:1", 1_000_000)
    if isinstance(result, DeadLetter):
        assert result.reason and result.input_location == "f.jsonl:1"
        return
    assert isinstance(result, Article) and result.text == text
    _check_prepared(result, prepare_article(result, 120, 24))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_never_raise(raw):
    result = parse_json_record(raw, "f.jsonl:7", 1_000_000)
    if isinstance(result, Article):
        _check_prepared(result, prepare_article(result, 120, 24))
    else:
        assert result.reason


SENTENCES = [  # each names at least one place, person or organisation
    "Police in Lagos arrested 14 protesters on Friday.",
    "Kenya and Uganda signed a trade accord in Nairobi.",
    "\u05d4\u05de\u05de\u05e9\u05dc\u05d4 said Telegram would appeal \U0001f4f1 the ruling.",
    "Pavel\u200b Durov met\u00a0officials in Paris\x00 on Monday.",
    "Les manifestants ont bloqu\u00e9 la route. Rebels attacked a convoy near Goma.",
]
# A record is drawn as a recipe (kind and parts) and given its id by its place in the batch,
# so ids stay unique. Every kind has a part drawn from an unbounded space: hypothesis does
# not repeat a draw, so a kind with a few possible recipes would appear only a few times.
_noise = st.text(alphabet=st.sampled_from(NASTY + " ab."), max_size=40)
_valid = st.tuples(st.just("valid"), st.sampled_from(SENTENCES), _noise,
                   st.sampled_from(["2026-03-01", "yesterday", None, 5]))
_broken = st.one_of(
    st.tuples(st.just("truncated"), _noise),  # cut off mid-record
    # A blank line is no record (the reader skips it), so garbage has something in it.
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=60).filter(lambda b: b.replace(b"\n", b" ").strip())),
    st.tuples(st.just("wrong_type"), st.one_of(st.none(), st.integers(), st.just(""),
                                               st.lists(st.text(max_size=3), max_size=2),
                                               st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))),
    st.tuples(st.just("nested"), st.integers(1000, 5000)),
    st.tuples(st.just("not_object"), st.sampled_from(SENTENCES), _noise),
    st.tuples(st.just("no_id"), st.sampled_from(SENTENCES), _noise),
)
# About half valid (one_of alone would weigh each of the seven kinds the same).
record_st = st.booleans().flatmap(lambda valid: _valid if valid else _broken)


def _record(recipe: tuple, i: int) -> bytes:
    """The JSON Lines record a drawn recipe stands for, the ``i``-th of its batch."""
    kind = recipe[0]
    if kind == "valid":
        _, sentence, noise, published = recipe
        return json.dumps({"id": f"r{i}", "text": f"{sentence} Item {i}. {noise}", "published": published}).encode()
    if kind == "truncated":
        return json.dumps({"id": f"t{i}", "text": f"truncated {recipe[1]}"}).encode()[:-3]
    if kind == "garbage":
        return recipe[1].replace(b"\n", b" ")
    if kind == "wrong_type":
        return json.dumps({"id": f"n{i}", "text": recipe[1]}).encode()
    if kind == "nested":
        return b"[" * recipe[1] + b"]" * recipe[1]
    if kind == "not_object":
        return json.dumps([f"r{i}", recipe[1] + recipe[2]]).encode()
    return json.dumps({"text": f"{recipe[1]}{recipe[2]} {i}"}).encode()


def _draw_recipes(n: int) -> list[tuple]:
    # Each example of a @given test would be a whole Beam run (about a minute): instead
    # hypothesis draws n records (derandomized by the "ci" profile in conftest.py, so the same
    # batch every run) and one run takes them all.
    drawn: list[tuple] = []

    @settings(max_examples=n, suppress_health_check=list(HealthCheck))
    @given(record_st)
    def collect(recipe):
        drawn.append(recipe)

    collect()
    return drawn


def test_a_thousand_mixed_records_are_all_accounted_for(tmp_path_factory):
    recipes = _draw_recipes(1040)
    assert len(recipes) >= 1000 and {r[0] for r in recipes} == {
        "valid", "truncated", "garbage", "wrong_type", "nested", "not_object", "no_id"}
    inp = tmp_path_factory.mktemp("mixed")
    lines = [_record(r, i) for i, r in enumerate(recipes)]
    for f in range(4):
        (inp / f"part{f}.jsonl").write_bytes(b"\n".join(lines[f::4]) + b"\n")
    n = len(lines)
    out = tmp_path_factory.mktemp("out")
    summary = run(["--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet"])
    assert summary["records_read"] == n
    assert summary["accounted"] and all(c["accounted"] for c in summary["by_file"].values())
    assert summary["documents_written"] + summary["record_dead_letters"] == n
    texts = {}
    for path in sorted(os.listdir(inp)):
        for lineno, line in enumerate((inp / path).read_bytes().split(b"\n"), 1):
            try:
                obj = json.loads(line)
                texts[obj["id"]] = obj["text"]
            except (ValueError, TypeError, KeyError, RecursionError):
                pass
    for table in ("entities", "events"):
        for row in ds.dataset(out / table).to_table().to_pylist():
            text = texts[row["doc_id"]]
            assert 0 <= row["char_start"] < row["char_end"] <= len(text)
            if table == "entities":
                assert text[row["char_start"] : row["char_end"]] == row["text"]
    # "Accounted" also holds when a model raises on every batch (each document then written
    # partial, its chunks dead-lettered): the models must have run on every document.
    docs = ds.dataset(out / "documents").to_table().to_pylist()
    valid = {f"r{i}" for i, r in enumerate(recipes) if r[0] == "valid"}
    assert {d["doc_id"] for d in docs} == valid
    assert {d["status"] for d in docs} <= {"ok", "ok_with_notes"}
    assert [d["doc_id"] for d in docs if d["n_mentions"] < 1] == []  # every valid text names someone
    dead = ds.dataset(out / "dead_letters").to_table().to_pylist()
    assert Reason.MODEL_FAILED.value not in {d["reason"] for d in dead}


def test_extreme_records(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    ten_mb = "Rebels attacked the town. " * 400_000
    no_punct = " ".join(["word"] * 20_000)  # 100,000 characters, one "sentence"
    lines = [
        json.dumps({"id": "huge", "text": ten_mb}),
        json.dumps({"id": "nopunct", "text": no_punct}),
        json.dumps({"id": "onetoken", "text": "a" * 100_000}),
        json.dumps({"id": "deep", "text": {"a": [[[[[[[[[[1]]]]]]]]]]}}),
        json.dumps({"id": "fields", "text": "Rebels attacked a convoy.", "title": 3, "url": [], "source": {},
                    "published": "31/02/2026", "language": False}),
        json.dumps({"id": "../../etc/passwd", "text": "Police detained two men in Lyon.",
                    "published": "2026-01-01T00:00:00+14:00"}),
    ]
    (inp / "x.jsonl").write_text("\n".join(lines) + "\n" + '{"id": "cut", "text": "Police arr')
    (inp / "bin.txt").write_bytes(b"\xff\xfe\x00garbage\x80")
    out = tmp_path / "out"
    summary = run(["--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet",
                   "--partition-by", "published_date"])
    assert summary["accounted"] and summary["records_read"] == 8
    dead_rows = ds.dataset(out / "dead_letters").to_table().to_pylist()
    dead = {r["doc_id"] or r["input_location"].rsplit("/", 1)[-1]: r["reason"] for r in dead_rows}
    assert dead["x.jsonl:1"] == "too_large" and dead["deep"] == "text_not_string" and dead["bin.txt"] == "not_utf8"
    assert "invalid_json" in dead.values()  # the truncated last line
    docs = {r["doc_id"]: r for r in ds.dataset(out / "documents", partitioning="hive").to_table().to_pylist()}
    assert {"nopunct", "onetoken", "fields", "../../etc/passwd"} <= set(docs)
    assert docs["fields"]["title"] is None and docs["fields"]["notes"]
    assert {d["status"] for d in docs.values()} <= {"ok", "ok_with_notes"}
    assert docs["../../etc/passwd"]["n_mentions"] >= 1  # Lyon
    assert Reason.MODEL_FAILED.value not in {r["reason"] for r in dead_rows}
    # Field values never become paths: partitions are dates made by the pipeline.
    assert all(p.name.startswith("published_date=") for p in (out / "documents").iterdir())
    assert not (tmp_path / "etc").exists()
