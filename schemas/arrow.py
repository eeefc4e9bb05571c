"""Versioned Arrow schemas of the output tables.

The version is stored in each Parquet file's schema metadata under
``newsevents.schema_version``; bump it on any change a reader could notice
(added, removed, renamed or retyped column).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["DEAD_LETTERS", "DOCUMENTS", "ENTITIES", "EVENTS", "SCHEMA_VERSION", "TABLES"]

SCHEMA_VERSION = "1.4.0"

_TS = pa.timestamp("us", tz="UTC")


def _schema(table: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={"newsevents.schema_version": SCHEMA_VERSION, "newsevents.table": table})


DOCUMENTS = _schema(
    "documents",
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("published", _TS),
        pa.field("language", pa.string()),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("n_sentences", pa.int32(), nullable=False),
        pa.field("n_mentions", pa.int32(), nullable=False),
        pa.field("n_events", pa.int32(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("notes", pa.list_(pa.string())),
        pa.field("input_location", pa.string()),
        # 1.4.0: the dedup key of the article's text, so an append can skip articles already in the
        # output without the text itself being stored (null in files written before 1.4.0).
        pa.field("text_hash", pa.string()),
    ],
)

ENTITIES = _schema(
    "entities",
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("sentence_index", pa.int32(), nullable=False),
        pa.field("mention_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("char_start", pa.int64(), nullable=False),
        pa.field("char_end", pa.int64(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
    ],
)

EVENTS = _schema(
    "events",
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("sentence_index", pa.int32(), nullable=False),
        pa.field("char_start", pa.int64(), nullable=False),
        pa.field("char_end", pa.int64(), nullable=False),
        pa.field("trigger", pa.string()),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("source_text", pa.string()),
        pa.field("source_label", pa.string()),
        pa.field("target_text", pa.string()),
        pa.field("target_label", pa.string()),
        pa.field("source_actor", pa.string()),
        pa.field("source_country", pa.string()),
        pa.field("target_actor", pa.string()),
        pa.field("target_country", pa.string()),
        pa.field("location", pa.string()),
        pa.field("country_code", pa.string()),
        pa.field("event_date", pa.date32()),
        pa.field("time_text", pa.string()),
        pa.field("confidence", pa.float32(), nullable=False),
        pa.field("num_mentions", pa.int32(), nullable=False),
        pa.field("published", _TS),
        pa.field("ner_model", pa.string(), nullable=False),
        pa.field("event_model", pa.string(), nullable=False),
        pa.field("pipeline_version", pa.string(), nullable=False),
        pa.field("sentence_text", pa.string()),
        pa.field("location_source", pa.string()),
        pa.field("event_mode", pa.string()),
        pa.field("event_date_precision", pa.string()),
        pa.field("source_is_pronoun", pa.bool_(), nullable=False),
        pa.field("target_is_pronoun", pa.bool_(), nullable=False),
    ],
)

DEAD_LETTERS = _schema(
    "dead_letters",
    [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
        pa.field("doc_id", pa.string()),
        pa.field("payload", pa.string()),
        pa.field("input_location", pa.string()),
    ],
)

#: Table name -> schema, in the order the writer creates them.
TABLES: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "entities": ENTITIES,
    "events": EVENTS,
    "dead_letters": DEAD_LETTERS,
}
