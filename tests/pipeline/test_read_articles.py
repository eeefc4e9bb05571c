"""Each kind of bad input becomes a dead letter with a reason, or a noted null."""

import datetime as dt
import json

import pytest
from newsevents.pipeline.io.read_articles import expand_input, parse_json_record, parse_published, parse_text_file
from newsevents.schemas.errors import ConfigError
from newsevents.schemas.records import Article, DeadLetter


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

    from newsevents.pipeline.io.read_articles import read_lines

    data = b"a\r\n" + b"x" * 50 + b"\n\nbc\n" + b"y" * 30 + b"\nlast"
    got = list(read_lines(io.BytesIO(data), limit=20, block_size=block))
    assert got == [(1, b"a"), (2, None), (3, b""), (4, b"bc"), (5, None), (6, b"last")]


def test_count_records_counts_like_the_reader(tmp_path):
    from newsevents.pipeline.io.read_articles import InputFile, count_records

    (tmp_path / "a.jsonl").write_bytes(b'{"id": "1", "text": "x"}\n\n   \n' + b"z" * 9000 + b'\n{"id": "2", "tex')
    (tmp_path / "b.txt").write_text("An article.")
    files = [InputFile(str(tmp_path / "a.jsonl"), "a.jsonl"), InputFile(str(tmp_path / "b.txt"), "b.txt")]
    assert count_records(files, max_chars=10) == {str(tmp_path / "a.jsonl"): 3, str(tmp_path / "b.txt"): 1}


def _read_file(path, max_chars=1000):
    from newsevents.pipeline.io.read_articles import InputFile, read_file

    return list(read_file(InputFile(str(path), path.name), max_chars))


def _array(n):
    return [{"id": f"e{i}", "text": f"Element {i} of the array."} for i in range(n)]


def test_expand_input_lists_compressed_files_by_their_inner_name(tmp_path):
    for name in ("a.jsonl.gz", "b.txt.bz2", "c.json.zst", "d.ndjson.zstd", "e.gz", "f.csv.gz"):
        (tmp_path / name).write_bytes(b"")
    assert [f.relative for f in expand_input(str(tmp_path))] == [
        "a.jsonl.gz", "b.txt.bz2", "c.json.zst", "d.ndjson.zstd"]
    assert [f.is_text for f in expand_input(str(tmp_path))] == [False, True, False, False]
    with pytest.raises(ConfigError, match=r"plain or \.gz, \.bz2, \.zst"):
        expand_input(str(tmp_path / "[ef].*"))


def test_json_array_file_is_read_element_by_element(tmp_path):
    path = tmp_path / "list.json"
    elements = _array(2) + [["not", "an", "object"], 7] + _array(3)[2:]
    path.write_bytes(b"\xef\xbb\xbf \n\t" + json.dumps(elements, indent=1).encode())
    records = _read_file(path)
    assert [r.input_location for r in records] == [f"{path}:[{i}]" for i in range(5)]
    assert [r.doc_id for r in records if isinstance(r, Article)] == ["e0", "e1", "e2"]
    assert [r.reason for r in records if isinstance(r, DeadLetter)] == ["not_an_object", "not_an_object"]
    assert "element of a JSON array" in records[2].error and json.loads(records[2].payload) == ["not", "an", "object"]


def test_json_array_with_a_malformed_tail_keeps_the_elements_before_it(tmp_path):
    from newsevents.pipeline.io.read_articles import InputFile, count_records

    path = tmp_path / "cut.json"
    path.write_bytes(json.dumps(_array(4)).encode()[:-30])  # the last element is cut off
    *articles, dead = _read_file(path)
    assert [a.doc_id for a in articles] == ["e0", "e1", "e2"]
    assert (dead.reason, dead.input_location) == ("invalid_json", f"{path}:[3]")
    assert "malformed at element [3]" in dead.error and "The 3 records before it were kept." in dead.error
    assert count_records([InputFile(str(path), "cut.json")], 1000) == {str(path): 4}


def test_json_array_inside_gzip(tmp_path):
    import gzip

    path = tmp_path / "list.json.gz"
    path.write_bytes(gzip.compress(json.dumps(_array(3)).encode()))
    assert [(r.doc_id, r.input_location) for r in _read_file(path)] == [(f"e{i}", f"{path}:[{i}]") for i in range(3)]


def test_only_a_json_file_starting_with_a_bracket_is_an_array(tmp_path):
    lines = b"".join(json.dumps(e).encode() + b"\n" for e in _array(2))
    (tmp_path / "lines.json").write_bytes(b"\n" + lines)
    assert [r.input_location for r in _read_file(tmp_path / "lines.json")] == [
        f"{tmp_path / 'lines.json'}:2", f"{tmp_path / 'lines.json'}:3"]
    (tmp_path / "lists.jsonl").write_bytes(b"[1]\n[2]\n")  # JSON Lines whatever its lines hold
    assert [r.reason for r in _read_file(tmp_path / "lists.jsonl")] == ["not_an_object", "not_an_object"]


def test_an_oversized_array_element_is_skipped_not_held(tmp_path):
    path = tmp_path / "big.json"
    big = {"id": "big", "text": "x", "extra": ["y" * 1000] * 200}  # 200 kB, over the 65 kB limit of max_chars=10
    path.write_text(json.dumps([big, {"id": "ok", "text": "fine"}]))
    records = _read_file(path, max_chars=10)
    assert [(getattr(r, "reason", None), r.input_location) for r in records] == [
        ("too_large", f"{path}:[0]"), (None, f"{path}:[1]")]
    path.write_text(json.dumps([{"id": "ok", "text": "fine"}, {"id": "huge", "text": "z" * 3_000_000}]))
    first, dead = _read_file(path, max_chars=10)  # one 3 MB string: the parser would hold it whole, so stop
    assert first.doc_id == "ok" and dead.reason == "too_large" and "Element [1]" in dead.error


def test_split_location_reads_array_positions():
    from newsevents.pipeline.io.read_articles import split_location

    assert split_location("in/a.json.gz:[10]") == ("in/a.json.gz", 10)
    assert sorted(["a.json:[10]", "a.json:[9]"], key=split_location) == ["a.json:[9]", "a.json:[10]"]
    assert split_location("in/a.jsonl.bz2:3") == ("in/a.jsonl.bz2", 3)
    assert split_location("in/odd:[x]") == ("in/odd:[x]", 0)


def test_a_published_time_outside_the_calendar_in_utc_is_a_note_not_a_crash():
    a = parse_json_record(b'{"id": "x", "text": "t", "published": "0001-01-01T00:00:00+14:00"}', "f.jsonl:1", 100)
    assert a.published is None and "outside years" in a.notes[0]


def test_a_lone_surrogate_is_replaced_in_place_so_offsets_hold_and_arrow_can_write():
    a = parse_json_record(b'{"id": "x", "text": "ab\\ud800cd", "title": "t\\udfff"}', "f.jsonl:1", 100)
    assert (a.text, a.title) == ("ab\ufffdcd", "t\ufffd") and len(a.text) == 5
    assert any("surrogate" in n for n in a.notes)
    a.text.encode("utf-8")
