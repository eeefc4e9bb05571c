"""The run summary: what was read, written and dead-lettered, and how fast.

Counts of written rows come from reading the (staged) tables back, so the
summary describes what analysts will actually see; records read come from the
Beam counters the reader keeps per input file, so accounting is checked per file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pyarrow.parquet as pq
from newsevents.pipeline.io.commit import SUMMARY_FILE
from newsevents.pipeline.io.read_articles import split_location
from newsevents.pipeline.io.write_tables import has_table_files, table_dir
from newsevents.schemas.errors import ALREADY_IN_OUTPUT, Stage

__all__ = ["RECORD_STAGES", "SUMMARY_FILE", "RunSummary", "count_rows", "read_summary", "summarise", "write_summary"]

# Dead letters of these stages stand for a whole input record that became no document.
RECORD_STAGES = frozenset(s.value for s in (Stage.READ, Stage.PREPARE, Stage.ASSEMBLE, Stage.WRITE))

RunSummary = dict[str, Any]


def count_rows(output: str, table: str, columns: list[str] | None = None):
    """The rows of one written table (``None`` if the table does not exist)."""
    path = table_dir(output, table)
    if not has_table_files(path):
        return None
    return pq.read_table(path, columns=columns)


def summarise(output: str, read_counts: dict[str, int] | None, seconds: float, files: list) -> RunSummary:
    """Build the summary of the tables under ``output``.

    Args:
        read_counts: records read per input file (the reader's counters), or
            None when the runner reports no metrics (accounting is then unchecked).
        files: the run's ``InputFile`` list.
    """
    docs = count_rows(output, "documents", ["status", "input_location"])
    ents = count_rows(output, "entities", ["label"])
    events = count_rows(output, "events", ["event_type"])
    dead = count_rows(output, "dead_letters", ["stage", "reason", "error", "input_location"])
    doc_rows = docs.to_pylist() if docs is not None else []
    dead_rows = dead.to_pylist() if dead is not None else []
    # Records that never became a document: dead letters of the read and prepare stages
    # (duplicates included), and documents that failed in assembly or could not be written
    # (one dead letter each). Model-stage dead letters belong to documents that were written.
    record_dead = [r for r in dead_rows if r["stage"] in RECORD_STAGES]
    by_file: dict[str, dict[str, Any]] = {}
    for path in sorted({f.path for f in files} | set(read_counts or {})):
        read = None if read_counts is None else read_counts.get(path, 0)
        by_file[path] = {"read": read, "documents": 0, "dead_letters": 0}
    for rows, key in ((doc_rows, "documents"), (record_dead, "dead_letters")):
        for r in rows:
            entry = by_file.setdefault(split_location(r["input_location"])[0],
                                       {"read": None if read_counts is None else 0, "documents": 0, "dead_letters": 0})
            entry[key] += 1
    for entry in by_file.values():
        entry["accounted"] = entry["read"] is None or entry["read"] == entry["documents"] + entry["dead_letters"]
    records_read = None if read_counts is None else sum(read_counts.values())
    return {
        "input_files": len(files),
        "records_read": records_read,
        "documents_written": len(doc_rows),
        "documents_by_status": dict(Counter(r["status"] for r in doc_rows)),
        "duplicates": sum(1 for r in record_dead if r["reason"] == "duplicate"),
        # Of those, the articles an earlier run had written (--mode append).
        "already_in_output": sum(1 for r in record_dead
                                 if r["reason"] == "duplicate" and r["error"].startswith(ALREADY_IN_OUTPUT)),
        "mentions": ents.num_rows if ents is not None else 0,
        "mentions_by_label": dict(Counter(ents.column("label").to_pylist())) if ents is not None else {},
        "events": events.num_rows if events is not None else 0,
        "events_by_type": dict(Counter(events.column("event_type").to_pylist())) if events is not None else {},
        "dead_letters": len(dead_rows),
        "dead_letters_by_reason": dict(Counter(r["reason"] for r in dead_rows)),
        "record_dead_letters": len(record_dead),
        "accounted": all(e["accounted"] for e in by_file.values())
        and (records_read is None or records_read == len(doc_rows) + len(record_dead)),
        "by_file": by_file,
        "seconds": round(seconds, 2),
        "documents_per_s": round(len(doc_rows) / seconds, 2) if seconds > 0 else None,
    }


def write_summary(output: str, summary: RunSummary) -> None:
    """Write ``OUTPUT/_SUMMARY.json`` (via a temporary file: readers never see half of it)."""
    path = os.path.join(output, SUMMARY_FILE)
    os.makedirs(output, exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, sort_keys=False)
        fh.write("\n")
    os.replace(path + ".tmp", path)


def read_summary(output: str) -> RunSummary:
    """The summary a run wrote to ``OUTPUT/_SUMMARY.json`` (empty if there is none)."""
    path = os.path.join(output, SUMMARY_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
