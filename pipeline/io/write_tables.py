"""Write typed records to Parquet with the explicit, versioned Arrow schemas."""

from __future__ import annotations

import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.parquetio import WriteToParquet

from pipeline.transforms.split import shard_of
from schemas.arrow import TABLES
from schemas.records import as_row

__all__ = ["WriteTable", "has_table_files", "table_dir", "write_rows_file"]


def table_dir(output: str, table: str) -> str:
    """Directory of one table under the run's output directory."""
    return os.path.join(output, table)


def has_table_files(path: str) -> bool:
    """Whether a table directory holds any Parquet file a reader sees (hidden ``.``/``_`` names excluded)."""
    return os.path.isdir(path) and any(
        f.endswith(".parquet") and not f.startswith((".", "_")) for _, _, fs in os.walk(path) for f in fs)


def write_rows_file(rows, table: str, path: str) -> str:
    """Write row dicts as one Parquet file of ``table``'s schema, atomically (hidden name, then rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    pq.write_table(pa.Table.from_pylist(list(rows), schema=TABLES[table]), tmp, compression="zstd")
    os.replace(tmp, path)  # readers see the whole file or none
    return path


class WriteTable(beam.PTransform):
    """Records -> ``OUTPUT/<table>/part-SSSSS-of-NNNNN.parquet``, schema never inferred.

    Example::

        mentions | WriteTable("entities", "out/")
    """

    def __init__(self, table: str, output: str, portable: bool = False, shards: int = 8) -> None:
        super().__init__()
        if table not in TABLES:
            raise ValueError(f"Unknown table {table!r}; known: {sorted(TABLES)}.")
        self._table = table
        self._output = output
        self._portable = portable
        self._shards = shards

    def expand(self, records):
        if self._portable:
            return self._expand_portable(records)
        return (
            records
            | "ToRows" >> beam.Map(as_row)
            | "Write" >> WriteToParquet(
                os.path.join(table_dir(self._output, self._table), "part"),
                schema=TABLES[self._table],
                file_name_suffix=".parquet",
                codec="zstd",
            )
        )

    def _expand_portable(self, records):
        # For runners that drop what a DoFn emits in finish_bundle (Beam's
        # DaskRunner), where WriteToParquet's buffered rows would be lost: group
        # rows into shards and write each shard's file from process().
        table, directory, shards = self._table, table_dir(self._output, self._table), self._shards

        def shard(row: dict) -> int:
            return shard_of(row.get("doc_id") or repr(sorted(row.items())), shards)

        def write(item) -> str:
            index, rows = item
            return write_rows_file(rows, table, os.path.join(directory, f"part-{index:05d}-of-{shards:05d}.parquet"))

        return (
            records
            | "ToRows" >> beam.Map(as_row)
            | "KeyByShard" >> beam.Map(lambda row: (shard(row), row))
            | "GroupShards" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(write)
        )
