"""Typed records and Arrow schemas agree, and round-trip through Parquet."""

import dataclasses
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from newsevents.schemas.arrow import SCHEMA_VERSION, TABLES
from newsevents.schemas.records import DeadLetter, DocumentRecord, EntityMention, EventRecord, as_row

RECORDS = {
    "documents": DocumentRecord("d1", "T", None, "src", dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc),
                                "en", 120, 3, 2, 1, "ok_with_notes", ["published: nulled"], "in.jsonl:1"),
    "entities": EntityMention("d1", 0, "abc", "Zoë Müller", "PER", 0, 10, 0.5, "ner.minilm_cased.v1"),
    "events": EventRecord("e1", "d1", 2, 100, 180, "arrested", "COERCE", "French police", None, "Durov", "PER",
                          "French police", "FRA", "Pavel Durov", None, "France",
                          "FRA", dt.date(2024, 8, 1), "in August", 0.93, 2,
                          dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), "ner.v1", "events.v1", "0.1.0",
                          "French police arrested Durov in August."),
    "dead_letters": DeadLetter("read", "invalid_json", "Bad.", None, "{x", "in.jsonl:2"),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_record_fields_match_schema_columns(table):
    names = [f.name for f in dataclasses.fields(type(RECORDS[table]))]
    assert names == TABLES[table].names


@pytest.mark.parametrize("table", sorted(TABLES))
def test_parquet_round_trip_keeps_values_and_version(table, tmp_path):
    row = as_row(RECORDS[table])
    pq.write_table(pa.Table.from_pylist([row], schema=TABLES[table]), tmp_path / "t.parquet")
    back = pq.read_table(tmp_path / "t.parquet")
    assert back.schema.metadata[b"newsevents.schema_version"] == SCHEMA_VERSION.encode()
    assert back.schema.equals(TABLES[table], check_metadata=False)
    got = back.to_pylist()[0]
    for key, value in row.items():
        assert got[key] == pytest.approx(value) if isinstance(value, float) else got[key] == value
