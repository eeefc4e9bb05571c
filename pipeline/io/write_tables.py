"""Write typed records to Parquet with the explicit, versioned Arrow schemas."""

from __future__ import annotations

import os

import apache_beam as beam
from apache_beam.io.parquetio import WriteToParquet

from schemas.arrow import TABLES
from schemas.records import as_row

__all__ = ["WriteTable", "table_dir"]


def table_dir(output: str, table: str) -> str:
    """Directory of one table under the run's output directory."""
    return os.path.join(output, table)


class WriteTable(beam.PTransform):
    """Records -> ``OUTPUT/<table>/part-SSSSS-of-NNNNN.parquet``, schema never inferred.

    Example::

        mentions | WriteTable("entities", "out/")
    """

    def __init__(self, table: str, output: str) -> None:
        super().__init__()
        if table not in TABLES:
            raise ValueError(f"Unknown table {table!r}; known: {sorted(TABLES)}.")
        self._table = table
        self._output = output

    def expand(self, records):
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
