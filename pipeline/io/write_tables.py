"""Write typed records to Parquet with the explicit, versioned Arrow schemas.

Each record is converted to its row and checked against the table's schema
before the writer sees it (:class:`TableRows`), so one row that does not fit
never fails the job. What happens to a row that does not fit:

- ``documents``: a field that may be null and does not fit (a title holding a
  lone surrogate, which UTF-8 cannot store) is set to null, the document becomes
  ``partial`` with a note; a document whose row still does not fit becomes a
  dead letter (stage ``write``, reason ``internal_error``).
- ``dead_letters``: the last resort, so never refused: text that UTF-8 cannot
  store is written backslash-escaped.
- ``entities``, ``events``: checked upstream with :func:`row_problem` (their
  document notes what was dropped); a row that still fails here becomes a dead letter.

Failures of the file system (a full disk) are not one row's fault: they fail
the job, and the commit protocol keeps the half-written run invisible.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.parquetio import WriteToParquet
from newsevents.pipeline.runners import BEAM_MODEL, RunnerCapabilities
from newsevents.pipeline.split import SplitByType, shard_of
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import Reason, Stage, describe_exception
from newsevents.schemas.records import DeadLetter, as_row
from newsevents.schemas.rows import check_row as _check
from newsevents.schemas.rows import escaped as _escaped
from newsevents.schemas.rows import row_of, row_payload, row_problem

__all__ = ["TableRows", "WriteTable", "has_table_files", "row_of", "row_payload", "row_problem", "table_dir",
           "write_rows_file"]


def table_dir(output: str, table: str) -> str:
    """Directory of one table under the run's output directory."""
    return os.path.join(output, table)


def has_table_files(path: str) -> bool:
    """Whether a table directory holds any Parquet file a reader sees (hidden ``.``/``_`` names excluded)."""
    return os.path.isdir(path) and any(
        f.endswith(".parquet") and not f.startswith((".", "_")) for _, _, fs in os.walk(path) for f in fs)


def _salvaged_document(record: Any) -> dict[str, Any] | None:
    """The document row with its unstorable optional fields set to null and noted, or None if that is not enough."""
    try:
        row, schema = as_row(record), TABLES["documents"]
        notes = []
        for f in schema:
            if f.nullable and f.name != "notes" and row.get(f.name) is not None:
                try:
                    pa.array([row[f.name]], type=f.type)
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"{f.name}: could not be stored ({describe_exception(exc)}); set to null.")
                    row[f.name] = None
        if not notes:
            return None
        row.update(status="partial", notes=list(row.get("notes") or []) + notes)
        return _check(row, schema)
    except Exception:  # noqa: BLE001 - not salvageable: the caller dead-letters it
        return None


def _writable_dead_letter(record: Any) -> dict[str, Any]:
    try:
        return _check({k: _escaped(v) for k, v in as_row(record).items()}, TABLES["dead_letters"])
    except Exception as exc:  # noqa: BLE001 - a dead letter is never refused: say what happened instead
        return as_row(DeadLetter(Stage.WRITE.value, Reason.INTERNAL_ERROR.value,
                                 f"A dead letter could not be written ({_escaped(describe_exception(exc))}); "
                                 "the record as given is in payload. Please report this.",
                                 payload=row_payload(record)))


class _ToRows(beam.DoFn):
    def __init__(self, table: str) -> None:
        self._table = table

    def process(self, record: Any) -> Iterator[dict[str, Any] | DeadLetter]:
        try:
            yield row_of(record, self._table)
        except Exception as exc:  # noqa: BLE001 - one row must never fail the writer
            yield self._unwritable(record, exc)

    def _unwritable(self, record: Any, exc: Exception) -> dict[str, Any] | DeadLetter:
        if self._table == "dead_letters":
            return _writable_dead_letter(record)
        if self._table == "documents" and (row := _salvaged_document(record)) is not None:
            return row
        what = "document" if self._table == "documents" else f"{self._table} row of this document"
        return DeadLetter(Stage.WRITE.value, Reason.INTERNAL_ERROR.value,
                          f"The {self._table} row does not fit the table's schema, so the {what} was not written: "
                          f"{describe_exception(exc)}. If the input holds this value, correct it there; "
                          "otherwise please report this with the payload.",
                          getattr(record, "doc_id", None), row_payload(record), getattr(record, "input_location", None))


class TableRows(beam.PTransform):
    """Records -> ``(rows of the table, dead letters)``: the writers' guarded conversion to rows.

    Example::

        rows, unwritable = documents | TableRows("documents")
    """

    def __init__(self, table: str) -> None:
        super().__init__()
        self._table = table

    def expand(self, records):
        return records | "Convert" >> beam.ParDo(_ToRows(self._table)) | "ByType" >> SplitByType(dict, DeadLetter)


def write_rows_file(rows, table: str, path: str) -> str:
    """Write row dicts as one Parquet file of ``table``'s schema, atomically (hidden name, then rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    pq.write_table(pa.Table.from_pylist(list(rows), schema=TABLES[table]), tmp, compression="zstd")
    os.replace(tmp, path)  # readers see the whole file or none
    return path


class WriteTable(beam.PTransform):
    """Records -> ``OUTPUT/<table>/part-SSSSS-of-NNNNN.parquet``, schema never inferred.

    Returns ``(written, dead_letters)``: the dead letters of rows that could not be
    written (see the module docstring), for the run's dead-letter writer.

    ``WriteToParquet`` writes, unless the runner drops what a DoFn emits in
    ``finish_bundle`` (``runner.finish_bundle_output``; Beam's DaskRunner), where the
    file it closes there would be lost: rows are then grouped into ``shards`` and each
    shard's file is written from ``process()``, with the same names.

    Example::

        written, unwritable = documents | WriteTable("documents", "out/")
    """

    def __init__(self, table: str, output: str, runner: RunnerCapabilities = BEAM_MODEL, shards: int = 8) -> None:
        super().__init__()
        if table not in TABLES:
            raise ValueError(f"Unknown table {table!r}; known: {sorted(TABLES)}.")
        self._table = table
        self._output = output
        self._grouped = not runner.finish_bundle_output
        self._shards = shards

    def expand(self, records):
        rows, dead = records | "ToRows" >> TableRows(self._table)
        if self._grouped:
            return self._expand_grouped(rows), dead
        written = rows | "Write" >> WriteToParquet(
            os.path.join(table_dir(self._output, self._table), "part"),
            schema=TABLES[self._table],
            file_name_suffix=".parquet",
            codec="zstd",
        )
        return written, dead

    def _expand_grouped(self, rows):
        # Bundle-free: one file per shard of rows, written from process() (see the class docstring).
        table, directory, shards = self._table, table_dir(self._output, self._table), self._shards

        def shard(row: dict) -> int:
            return shard_of(row.get("doc_id") or repr(sorted(row.items())), shards)

        def write(item) -> str:
            index, rows = item
            return write_rows_file(rows, table, os.path.join(directory, f"part-{index:05d}-of-{shards:05d}.parquet"))

        return (
            rows
            | "KeyByShard" >> beam.Map(lambda row: (shard(row), row))
            | "GroupShards" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(write)
        )
