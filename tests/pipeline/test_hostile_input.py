"""Hostile and extreme input: property-based checks of the pure stages, and real runs.

Every record must end as a document or a dead letter with a reason; every
offset written must slice the original text; nothing may raise.
"""

from __future__ import annotations

import json
import os
import random

import pyarrow.dataset as ds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.io.read_articles import parse_json_record
from pipeline.run import run
from pipeline.transforms.prepare import prepare_article
from schemas.records import Article, DeadLetter

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


def _record(rng: random.Random, i: int) -> bytes:
    """One record of a mixed batch: about half valid, the rest every kind of broken."""
    kind = rng.randrange(12)
    sentence = rng.choice([
        "Police in Lagos arrested 14 protesters on Friday.",
        "Kenya and Uganda signed a trade accord in Nairobi.",
        "\u05d4\u05de\u05de\u05e9\u05dc\u05d4 said Telegram would appeal \U0001f4f1 the ruling.",
        "Pavel\u200b Durov met\u00a0officials in Paris\x00 on Monday.",
        "Les manifestants ont bloqu\u00e9 la route. Rebels attacked a convoy near Goma.",
    ])
    if kind < 6:
        return json.dumps({"id": f"r{i}", "text": f"{sentence} Item {i}.",
                           "published": rng.choice(["2026-03-01", "yesterday", None, 5])}).encode()
    return [
        b'{"id": "t' + str(i).encode() + b'", "text": "truncated',  # cut off mid-record
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 60))).replace(b"\n", b" "),  # garbage
        json.dumps({"id": f"n{i}", "text": rng.choice([None, 7, ["a"], {"b": 1}, ""])}).encode(),  # wrong types
        b"[" * 5000 + b"]" * 5000,  # deeply nested
        json.dumps([f"r{i}", sentence]).encode(),  # not an object
        json.dumps({"text": sentence + str(i)}).encode(),  # no id
    ][kind - 6]


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_a_thousand_mixed_records_are_all_accounted_for(tmp_path_factory, seed):
    rng = random.Random(seed)
    inp = tmp_path_factory.mktemp("mixed")
    n = 0
    for f in range(4):
        lines = [_record(rng, n + j) for j in range(260)]
        n += len(lines)
        (inp / f"part{f}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path_factory.mktemp("out")
    summary = run(["--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet"])
    assert summary["records_read"] == n >= 1000
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
    dead = {r["doc_id"] or r["input_location"].rsplit("/", 1)[-1]: r["reason"]
            for r in ds.dataset(out / "dead_letters").to_table().to_pylist()}
    assert dead["x.jsonl:1"] == "too_large" and dead["deep"] == "text_not_string" and dead["bin.txt"] == "not_utf8"
    assert "invalid_json" in dead.values()  # the truncated last line
    docs = {r["doc_id"]: r for r in ds.dataset(out / "documents", partitioning="hive").to_table().to_pylist()}
    assert {"nopunct", "onetoken", "fields", "../../etc/passwd"} <= set(docs)
    assert docs["fields"]["title"] is None and docs["fields"]["notes"]
    # Field values never become paths: partitions are dates made by the pipeline.
    assert all(p.name.startswith("published_date=") for p in (out / "documents").iterdir())
    assert not (tmp_path / "etc").exists()
