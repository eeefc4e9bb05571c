"""Compressed inputs (.gz, .bz2, .zst) are read like plain ones; damage keeps what came before it."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import json
import tracemalloc

import pytest
import zstandard
from newsevents.pipeline.io.file_source import FileSource
from newsevents.pipeline.io.read_articles import InputFile, count_records, expand_input, read_file
from newsevents.schemas.records import Article, DeadLetter

COMPRESS = {
    ".gz": gzip.compress,
    ".bz2": lambda data: bz2.compress(data, compresslevel=1),  # 100 kB blocks: a truncated file still holds whole ones
    ".zst": zstandard.ZstdCompressor(write_checksum=True).compress,  # the zstd command line writes checksums too
}


def _lines(n: int) -> bytes:
    return b"".join(json.dumps({"id": f"a{i}", "text": f"Article number {i} about the harbour of Riga."}).encode()
                    + b"\n" for i in range(n))


def _read(path, max_chars: int = 1000) -> list:
    return list(read_file(InputFile(str(path), path.name), max_chars))


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_compressed_json_lines_read_like_the_plain_file(tmp_path, suffix):
    data = _lines(3) + b"{broken\n\n" + _lines(1).replace(b'"a0"', b'"b0"')
    (tmp_path / "plain.jsonl").write_bytes(data)
    (tmp_path / f"packed.jsonl{suffix}").write_bytes(COMPRESS[suffix](data))
    assert [f.relative for f in expand_input(str(tmp_path))] == [f"packed.jsonl{suffix}", "plain.jsonl"]
    plain, packed = _read(tmp_path / "plain.jsonl"), _read(tmp_path / f"packed.jsonl{suffix}")
    assert [dataclasses.replace(r, input_location="") for r in packed] == [
        dataclasses.replace(r, input_location="") for r in plain]
    assert [r.input_location for r in packed] == [f"{tmp_path / f'packed.jsonl{suffix}'}:{n}" for n in (1, 2, 3, 4, 6)]
    assert [type(r) for r in packed] == [Article] * 3 + [DeadLetter, Article]


def test_compressed_text_file_is_one_article(tmp_path):
    (tmp_path / "memo.txt.gz").write_bytes(gzip.compress("Officials in Nairobi met on Monday.\n".encode()))
    [article] = _read(tmp_path / "memo.txt.gz")
    assert (article.doc_id, article.text) == ("memo.txt.gz", "Officials in Nairobi met on Monday.\n")


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_truncated_file_keeps_the_records_before_the_damage(tmp_path, suffix):
    whole = COMPRESS[suffix](_lines(20000))
    path = tmp_path / f"cut.jsonl{suffix}"
    path.write_bytes(whole[: len(whole) * 3 // 4])  # a download that stopped early
    records = _read(path)
    *articles, dead = records
    assert len(articles) > 1000 and all(isinstance(a, Article) for a in articles)
    assert [a.doc_id for a in articles] == [f"a{i}" for i in range(len(articles))]
    assert (dead.reason, dead.stage) == ("corrupt_compressed_file", "read")
    assert str(path) in dead.error and f"The {len(articles)} records before it were kept." in dead.error
    assert dead.input_location == f"{path}:{len(articles) + 1}"
    assert count_records([InputFile(str(path), path.name)], 1000) == {str(path): len(records)}


@pytest.mark.parametrize("damage", ["not zstd at all", "checksum"])
def test_corrupt_zst_is_one_dead_letter(tmp_path, damage):
    path = tmp_path / "bad.jsonl.zst"
    if damage == "checksum":
        data = bytearray(COMPRESS[".zst"](_lines(50)))
        data[len(data) // 2] ^= 0xFF
    else:
        data = b"These bytes were never compressed.\n" * 20
    path.write_bytes(bytes(data))
    *_, dead = _read(path)
    assert isinstance(dead, DeadLetter) and dead.reason == "corrupt_compressed_file"
    assert "ZstdError" in dead.error and str(path) in dead.error


def test_decompression_is_bounded_in_memory(tmp_path):
    # 200 MB of one runaway line packs into a few kB of zstd: reading past it
    # must not hold it, nor decode far ahead of the reader.
    path = tmp_path / "bomb.jsonl.zst"
    with open(path, "wb") as fh, zstandard.ZstdCompressor(level=19).stream_writer(fh) as out:
        for _ in range(200):
            out.write(b"x" * (1 << 20))
        out.write(b"\n" + _lines(1))
    tracemalloc.start()
    try:
        records = _read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.reason if isinstance(r, DeadLetter) else r.doc_id for r in records] == ["too_large", "a0"]
    assert peak < 32 << 20


def test_the_streaming_watcher_picks_up_compressed_files():
    reads = FileSource.watching("/in").reads
    for name in ("a.jsonl.gz", "b.ndjson.bz2", "c.json.zst", "d.txt.gz", "e.JSONL.GZ", "f.jsonl", "_e.jsonl.zst"):
        assert reads(f"/in/{name}"), name
    for name in ("a.gz", "b.csv.gz", "c.jsonl.gz.part", ".d.jsonl.gz"):
        assert not reads(f"/in/{name}"), name


def test_a_run_over_compressed_and_array_files_accounts_for_every_record(tmp_path, capsys):
    from newsevents.pipeline.run import main

    from tests.pipeline.test_run_end_to_end import _rows

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    good = [{"id": "gz-1", "text": "Police in Lagos arrested the opposition leader Musa Bello on Monday."},
            {"id": "gz-2", "text": "The European Union signed a trade agreement with Kenya in Nairobi."}]
    (inp / "a.jsonl.gz").write_bytes(gzip.compress(b"".join(json.dumps(g).encode() + b"\n" for g in good)))
    whole = gzip.compress(_lines(400))
    (inp / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 10])
    array = [{"id": "arr-1", "text": "Protesters marched through Santiago against the new tax."}, "not an article",
             {"id": "arr-2", "text": "Japan and South Korea agreed to share data on missile launches."}]
    (inp / "list.json.bz2").write_bytes(bz2.compress(json.dumps(array).encode()[:-1] + b', {"id": "arr-3", "te'))
    assert main(["run", "--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet"]) == 0
    summary = json.loads((out / "_SUMMARY.json").read_text())
    cut = summary["by_file"][str(inp / "cut.jsonl.gz")]
    assert cut["read"] == cut["documents"] + cut["dead_letters"] and cut["read"] > 3 and cut["dead_letters"] == 1
    assert summary["by_file"][str(inp / "list.json.bz2")] == {"read": 4, "documents": 2, "dead_letters": 2,
                                                              "accounted": True}
    assert summary["accounted"] is True and len(summary["by_file"]) == 3
    dead = {d["input_location"]: d["reason"] for d in _rows(out, "dead_letters")}
    assert dead[f"{inp / 'list.json.bz2'}:[1]"] == "not_an_object"
    assert dead[f"{inp / 'list.json.bz2'}:[3]"] == "invalid_json"
    assert sum(reason == "corrupt_compressed_file" for reason in dead.values()) == 1
    docs = {d["doc_id"]: d["input_location"] for d in _rows(out, "documents")}
    assert docs["arr-2"] == f"{inp / 'list.json.bz2'}:[2]" and docs["gz-2"] == f"{inp / 'a.jsonl.gz'}:2"
    assert "records_read" in capsys.readouterr().out
