"""Records as table rows: whether a record's row fits its table's Arrow schema, and its payload.

Plain functions over ``schemas.records`` and ``schemas.arrow``, shared by the
core that drops rows no table can store (``models.assembly``), the Parquet
writers (``pipeline.io.write_tables``) and the Python API's ``to_arrow``.

>>> from newsevents.schemas.records import EntityMention
>>> row_problem(EntityMention("d", 0, "m", "Lagos", "LOC", 9, 14, 0.9, "ner"), "entities") is None
True
>>> row_problem(EntityMention("d", 0, "m", "Jean\\udfff", "PER", 9, 14, 0.9, "ner"), "entities").split(":")[0]
'UnicodeEncodeError'
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import describe_exception
from newsevents.schemas.records import as_row

__all__ = ["PAYLOAD_CHARS", "check_row", "escaped", "row_of", "row_payload", "row_problem"]

#: The most characters of an input kept in a dead letter's payload.
PAYLOAD_CHARS = 2000


def check_row(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """``row`` unchanged when it converts to ``schema``; raises when it does not (a null where none may be, too)."""
    batch = pa.RecordBatch.from_pydict({f.name: [row.get(f.name)] for f in schema}, schema=schema)
    # A null in a non-nullable column converts; the Parquet writer would then refuse the whole file.
    for f, column in zip(schema, batch.columns):
        if not f.nullable and column.null_count:
            raise ValueError(f"column {f.name!r} may not be null")
    return row


def row_of(record: Any, table: str) -> dict[str, Any]:
    """``record`` as a row of ``table``; raises when the row does not fit the table's Arrow schema."""
    return check_row(as_row(record), TABLES[table])


def row_problem(record: Any, table: str) -> str | None:
    """Why ``record``'s row does not fit ``table`` (exception, message, ``file:line``), or None when it fits."""
    try:
        row_of(record, table)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is this row's problem
        return describe_exception(exc)
    return None


def escaped(value: Any) -> Any:
    """A string with lone surrogates backslash-escaped (UTF-8 cannot store them); anything else as it is."""
    # Lone surrogates (from JSON "\ud800" escapes) cannot be stored as UTF-8; keep them visible as escapes.
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def row_payload(record: Any) -> str:
    """A dead letter's payload for a record that is not an article: its row as JSON, truncated."""
    try:
        text = json.dumps(as_row(record), default=str, ensure_ascii=False)
    except Exception:  # noqa: BLE001 - the record may be what is broken
        text = repr(record)
    return escaped(text[:PAYLOAD_CHARS])
