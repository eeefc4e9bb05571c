"""Each kind of bad input becomes a dead letter with a reason, or a noted null."""

import datetime as dt
import json

import pytest

from pipeline.errors import ConfigError
from pipeline.io.read_articles import expand_input, parse_json_record, parse_published, parse_text_file
from schemas.records import Article, DeadLetter


def _parse(obj, max_chars=1000):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return parse_json_record(raw, "f.jsonl:7", max_chars)


def test_valid_record_with_all_fields():
    a = _parse({"id": "x", "text": "Hello.", "title": "T", "url": "u", "source": "s", "language": "en",
                "published": "2026-03-01T10:00:00+02:00"})
    assert isinstance(a, Article) and a.notes == ()
    assert a.published == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert a.input_location == "f.jsonl:7"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'{"text": "no id"}', "missing_id"),
        (b'{"id": "a"}', "missing_text"),
        (b'{"id": "a", "text": null}', "missing_text"),
        (b'{"id": "a", "text": ["x"]}', "text_not_string"),
        (b'{"id": "a", "text": " \\n "}', "empty_text"),
        (b'{"id": "a", "text": "\xff\xfe bad"}', "not_utf8"),
        (json.dumps({"id": "a", "text": "x" * 1001}).encode(), "too_large"),
        (b"[" * 30000 + b"]" * 30000, "invalid_json"),  # deeply nested: no RecursionError escapes
    ],
)
def test_bad_records_become_dead_letters(raw, reason):
    dl = _parse(raw)
    assert isinstance(dl, DeadLetter)
    assert (dl.stage, dl.reason, dl.input_location) == ("read", reason, "f.jsonl:7")
    assert dl.error.endswith(".") and len(dl.payload) <= 2000


def test_bad_optional_fields_are_nulled_and_noted():
    a = _parse({"id": 12, "text": "Hi.", "title": 5, "published": "last tuesday", "url": ["x"]})
    assert isinstance(a, Article)
    assert (a.doc_id, a.title, a.url, a.published) == ("12", None, None, None)
    assert len(a.notes) == 4 and any("published" in n for n in a.notes)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-03-01", dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)),
        ("2026-03-01T10:00:00Z", dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)),
        ("2026-03-01T10:00:00", dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)),
        ("2026-13-01", None),
        (20260301, None),
    ],
)
def test_parse_published(value, expected):
    assert parse_published(value)[0] == expected


def test_text_files_use_their_relative_path_as_id():
    a = parse_text_file("Body text.".encode(), "sub/a.txt", "/in/sub/a.txt", 100)
    assert isinstance(a, Article) and a.doc_id == "sub/a.txt"
    assert parse_text_file(b"\xff\xfe", "b.txt", "/in/b.txt", 100).reason == "not_utf8"


def test_expand_input_file_directory_and_glob(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.jsonl", "sub/b.txt", "sub/c.csv", ".hidden.jsonl"):
        (tmp_path / name).write_text("{}")
    assert [f.relative for f in expand_input(str(tmp_path))] == ["a.jsonl", "sub/b.txt"]
    assert [f.relative for f in expand_input(str(tmp_path / "**" / "*.txt"))] == ["sub/b.txt"]
    assert [f.relative for f in expand_input(str(tmp_path / "a.jsonl"))] == ["a.jsonl"]
    with pytest.raises(ConfigError, match="matched no"):
        expand_input(str(tmp_path / "*.csv"))
    with pytest.raises(ConfigError, match="not a file"):
        expand_input(str(tmp_path / "missing"))


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 20])
def test_read_lines_is_bounded_and_keeps_numbering(block):
    import io

    from pipeline.io.read_articles import read_lines

    data = b"a\r\n" + b"x" * 50 + b"\n\nbc\n" + b"y" * 30 + b"\nlast"
    got = list(read_lines(io.BytesIO(data), limit=20, block_size=block))
    assert got == [(1, b"a"), (2, None), (3, b""), (4, b"bc"), (5, None), (6, b"last")]


def test_count_records_counts_like_the_reader(tmp_path):
    from pipeline.io.read_articles import InputFile, count_records

    (tmp_path / "a.jsonl").write_bytes(b'{"id": "1", "text": "x"}\n\n   \n' + b"z" * 9000 + b'\n{"id": "2", "tex')
    (tmp_path / "b.txt").write_text("An article.")
    files = [InputFile(str(tmp_path / "a.jsonl"), "a.jsonl"), InputFile(str(tmp_path / "b.txt"), "b.txt")]
    assert count_records(files, max_chars=10) == {str(tmp_path / "a.jsonl"): 3, str(tmp_path / "b.txt"): 1}
