"""The run summary: what was read, written and dead-lettered, and how fast.

Counts of written rows come from reading the tables back, so the summary
describes what analysts will actually see; records read come from the Beam
counter incremented by the reader.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from pipeline.io.write_tables import table_dir

__all__ = ["RunSummary", "count_rows", "summarise"]

RunSummary = dict[str, Any]


def count_rows(output: str, table: str, columns: list[str] | None = None):
    """The rows of one written table (``None`` if the table does not exist)."""
    path = table_dir(output, table)
    if not os.path.isdir(path):
        return None
    return pq.read_table(path, columns=columns)


def summarise(output: str, records_read: int | None, seconds: float, files: int) -> RunSummary:
    """Build the summary dict and write it to ``OUTPUT/_SUMMARY.json``."""
    docs = count_rows(output, "documents", ["status"])
    ents = count_rows(output, "entities", ["label"])
    events = count_rows(output, "events", ["event_type"])
    dead = count_rows(output, "dead_letters", ["stage", "reason"])
    n_docs = docs.num_rows if docs is not None else 0
    dead_rows = dead.to_pylist() if dead is not None else []
    # Records that never became a document: dead letters of the read and prepare
    # stages. Model-stage dead letters belong to documents that were written.
    record_dead = sum(1 for r in dead_rows if r["stage"] in ("read", "prepare"))
    summary: RunSummary = {
        "input_files": files,
        "records_read": records_read,
        "documents_written": n_docs,
        "documents_by_status": dict(Counter(docs.column("status").to_pylist())) if docs is not None else {},
        "mentions": ents.num_rows if ents is not None else 0,
        "mentions_by_label": dict(Counter(ents.column("label").to_pylist())) if ents is not None else {},
        "events": events.num_rows if events is not None else 0,
        "events_by_type": dict(Counter(events.column("event_type").to_pylist())) if events is not None else {},
        "dead_letters": len(dead_rows),
        "dead_letters_by_reason": dict(Counter(r["reason"] for r in dead_rows)),
        "record_dead_letters": record_dead,
        "accounted": records_read is None or records_read == n_docs + record_dead,
        "seconds": round(seconds, 2),
        "documents_per_s": round(n_docs / seconds, 2) if seconds > 0 else None,
    }
    with open(os.path.join(output, "_SUMMARY.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, sort_keys=False)
        fh.write("\n")
    return summary
