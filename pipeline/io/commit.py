"""Commit a run's tables into the output directory atomically and idempotently.

Beam writes every table into ``OUTPUT/_staging/<run_id>/`` (readers skip names
starting with ``_``). Only after the run succeeded and its accounting holds are
the staged files laid out in their final shape (Hive partitions when asked) and
moved into place, following a journal written first:

- each step is ``(src, dst)``, relative to the output directory: "if ``src``
  still exists, put it at ``dst``" (an existing ``dst`` directory is first renamed
  away), so replaying a journal after a crash finishes the commit and never undoes it;
- a staging directory without a journal is an attempt that died before its
  commit; the next run deletes it, so a killed run leaves nothing visible.

File names carry the run id, a hash of the inputs' content, the models and the
settings: re-running the same job (in any mode) replaces its own files instead
of adding a second copy.

A local streaming run commits each micro-batch the same way: its window files and
its ledger entry are the steps of one journal (:func:`journal_steps`, written by
``pipeline/io/ledger.py``), finished by the same :func:`recover`.

Local output directories only; see README "Output modes" for object stores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import os
import shutil
from typing import Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import ConfigError

__all__ = [
    "NULL_PARTITION",
    "PARTITIONED_TABLES",
    "Mode",
    "check_layout",
    "check_mode",
    "commit",
    "compute_run_id",
    "discard_attempts",
    "doc_partitions",
    "document_files",
    "journal_steps",
    "make_tables",
    "partition_value",
    "recover",
    "remove_tables",
    "staged_files",
    "staging_dir",
    "write_synced",
]

STAGING = "_staging"
#: The run summary beside the tables; the leading "_" keeps table readers away from it.
SUMMARY_FILE = "_SUMMARY.json"
JOURNAL = "COMMIT.json"
PARTITION_COLUMN = "published_date"
# Hive's name for a null partition value; pyarrow, DuckDB and Spark read it as null.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITIONED_TABLES = ("documents", "entities", "events")


class Mode(str, enum.Enum):
    """What a run does with tables already in its output directory."""

    OVERWRITE = "overwrite"  # replace the tables (only the partitions this run produced, when partitioned)
    APPEND = "append"  # add this run's files beside the existing ones
    FAIL_IF_EXISTS = "fail-if-exists"  # refuse to start if any table exists


def compute_run_id(paths: Iterable[str], settings: dict) -> str:
    """A hash of the inputs' bytes and the settings that shape the output (no clock, no randomness).

    An object-store input (``gs://``, ``s3://``) is read through Beam's file systems.
    """
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in sorted(paths):
        h.update(path.encode() + b"\0")
        with _open_input(path) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _open_input(path: str):
    from newsevents.pipeline.io.read_articles import is_remote

    if not is_remote(path):
        return open(path, "rb")
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)  # the bytes as stored, like open()


def staging_dir(output: str, run_id: str) -> str:
    """Where one run's tables are written before they are committed."""
    return os.path.join(output, STAGING, run_id)


def _table_exists(output: str, table: str) -> bool:
    path = os.path.join(output, table)
    return os.path.isdir(path) and bool(os.listdir(path))


def check_mode(output: str, mode: Mode | str) -> None:
    """Refuse to start when ``fail-if-exists`` meets existing tables."""
    if Mode(mode) is Mode.FAIL_IF_EXISTS:
        existing = [t for t in TABLES if _table_exists(output, t)]
        if existing:
            raise ConfigError(
                f"--mode fail-if-exists: {output} already holds the tables {existing}; choose another "
                "--output, or --mode overwrite|append."
            )


def _layout_mismatch(output: str, table: str, existing: bool, partitioned: bool) -> ConfigError:
    return ConfigError(
        f"--mode append: {os.path.join(output, table)} is {'' if existing else 'not '}partitioned "
        f"but this run's {table} table is{'' if partitioned else ' not'}; use the same --partition-by "
        "or --mode overwrite."
    )


def check_layout(output: str, mode: Mode | str, partition_by: str | None) -> None:
    """Refuse, before any work, an append whose ``--partition-by`` differs from the output's layout."""
    if Mode(mode) is not Mode.APPEND:
        return
    for table in PARTITIONED_TABLES:
        existing = _is_partitioned(output, table)
        if existing is not None and existing != bool(partition_by):
            raise _layout_mismatch(output, table, existing, bool(partition_by))


def document_files(output: str, exclude_run: str | None = None) -> list[str]:
    """The committed ``documents`` Parquet files of ``output``, in any layout, sorted.

    Args:
        exclude_run: leave out the files of this run id: an earlier commit of the same job,
            which this run replaces rather than adds to.
    """
    root = os.path.join(output, "documents")
    mine = f"part-{exclude_run}-" if exclude_run else None
    found = []
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(("_", ".")))  # readers skip these too
        found += [os.path.join(folder, n) for n in names if n.endswith(".parquet") and not n.startswith(("_", "."))
                  and not (mine and n.startswith(mine))]
    return sorted(found)


def discard_attempts(output: str) -> None:
    """Delete this output's staged attempts that never reached a commit journal, and ``_staging/`` if then empty.

    Called when a run fails, however it fails, while it still holds the output lock:
    a failed run leaves no staging directory. A journaled attempt is kept, for
    ``recover()`` to finish.
    """
    root = os.path.join(output, STAGING)
    if not os.path.isdir(root):
        return
    for name in os.listdir(root):
        if not os.path.exists(os.path.join(root, name, JOURNAL)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    with contextlib.suppress(OSError):
        os.rmdir(root)  # only if empty


def recover(output: str) -> list[str]:
    """Finish commits interrupted by a crash and delete attempts that never reached one.

    Returns:
        The run ids whose commit was completed here.
    """
    root = os.path.join(output, STAGING)
    finished = []
    if not os.path.isdir(root):
        return finished
    for name in sorted(os.listdir(root)):
        stage = os.path.join(root, name)
        journal = os.path.join(stage, JOURNAL)
        if os.path.exists(journal):
            with open(journal, encoding="utf-8") as fh:
                _apply(json.load(fh), stage)
            finished.append(name)
        shutil.rmtree(stage, ignore_errors=True)
    return finished


def partition_value(published: dt.datetime | None) -> str:
    """The ``published_date`` partition of a row: an ISO date made from a timestamp, never from raw input text."""
    if published is None:
        return NULL_PARTITION
    if published.tzinfo is not None:
        published = published.astimezone(dt.timezone.utc)
    return published.date().isoformat()


def staged_files(stage: str) -> list[str]:
    """The Parquet files staged in ``stage``, relative to it (``<table>/<name>``), without hidden ones, sorted.

    A streaming micro-batch's window files: each is moved to the same place in the output.
    """
    return [os.path.join(table, name) for table in TABLES if os.path.isdir(os.path.join(stage, table))
            for name in sorted(os.listdir(os.path.join(stage, table)))
            if name.endswith(".parquet") and not name.startswith(".")]


def _staged_files(stage: str, table: str) -> list[str]:
    path = os.path.join(stage, table)
    if not os.path.isdir(path):
        return []
    return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".parquet"))


def doc_partitions(stage: str) -> dict[str, str]:
    """The ``published_date`` partition of each staged document: ``{doc_id: "YYYY-MM-DD" or NULL_PARTITION}``."""
    dates: dict[str, str] = {}
    for path in _staged_files(stage, "documents"):
        t = pq.read_table(path, columns=["doc_id", "published"])
        for doc_id, published in zip(t.column("doc_id").to_pylist(), t.column("published").to_pylist()):
            dates[doc_id] = partition_value(published)
    return dates


def _layout(stage: str, run_id: str, partition_by: str | None) -> dict[str, list[str]]:
    """Move staged shards into ``stage/final/<table>/[published_date=X/]part-<run_id>-NNNNN.parquet``.

    Returns each table's final files, relative to the table directory.
    """
    final = os.path.join(stage, "final")
    dates = doc_partitions(stage) if partition_by else {}
    layout: dict[str, list[str]] = {}
    for table in TABLES:
        files: list[str] = []
        # Even an empty table gets its directory, so overwrite replaces the old one.
        os.makedirs(os.path.join(final, table), exist_ok=True)
        for i, path in enumerate(_staged_files(stage, table)):
            name = f"part-{run_id}-{i:05d}.parquet"
            if partition_by and table in PARTITIONED_TABLES:
                data = pq.read_table(path)
                keys = [dates.get(d, NULL_PARTITION) for d in data.column("doc_id").to_pylist()]
                for value in sorted(set(keys)):
                    rows = data.filter(pa.array([k == value for k in keys]))
                    rel = os.path.join(f"{PARTITION_COLUMN}={value}", name)
                    os.makedirs(os.path.join(final, table, os.path.dirname(rel)), exist_ok=True)
                    pq.write_table(rows, os.path.join(final, table, rel), compression="zstd")
                    files.append(rel)
            else:
                os.makedirs(os.path.join(final, table), exist_ok=True)
                os.replace(path, os.path.join(final, table, name))
                files.append(name)
        layout[table] = files
    return layout


def _is_partitioned(output: str, table: str) -> bool | None:
    path = os.path.join(output, table)
    if not _table_exists(output, table):
        return None
    return any(name.startswith(PARTITION_COLUMN + "=") and os.path.isdir(os.path.join(path, name))
               for name in os.listdir(path))


def _plan(output: str, stage: str, layout: dict[str, list[str]], mode: Mode,
          partition_by: str | None) -> list[tuple[str, str]]:
    final = os.path.join(stage, "final")
    steps: list[tuple[str, str]] = []
    for table, files in layout.items():
        partitioned = bool(partition_by) and table in PARTITIONED_TABLES
        existing = _is_partitioned(output, table)
        if existing is not None and existing != partitioned:
            if mode is Mode.APPEND:
                raise _layout_mismatch(output, table, existing, partitioned)
            steps.append((os.path.join(final, table), os.path.join(output, table)))  # switch layout: whole table
            continue
        if mode is Mode.OVERWRITE and not partitioned and not (partition_by and table == "dead_letters"):
            steps.append((os.path.join(final, table), os.path.join(output, table)))
        elif mode is Mode.OVERWRITE and partitioned:
            for part in sorted({os.path.dirname(f) for f in files}):
                steps.append((os.path.join(final, table, part), os.path.join(output, table, part)))
        else:
            # Append (and the run-level dead letters of a partitioned overwrite):
            # file by file; a file of the same run id is this run's own earlier copy.
            steps += [(os.path.join(final, table, f), os.path.join(output, table, f)) for f in files]
    steps.append((os.path.join(stage, SUMMARY_FILE), os.path.join(output, SUMMARY_FILE)))
    # Journaled relative to the output directory: a rerun that reaches it by another path (moved,
    # remounted, a relative --output from another directory) must still find every file, not take
    # each step for done and delete the staged tables (issue 14, part 8).
    return [(os.path.relpath(src, output), os.path.relpath(dst, output)) for src, dst in steps]


def journal_steps(output: str, stage: str, moves: Mapping[str, str]) -> list[list[str]]:
    """A journal's steps for ``moves``: ``{path relative to stage: path relative to output}``.

    Journaled relative to the output directory, as :func:`commit` journals its own;
    :func:`recover` finishes them. Applied in order: put a file that names others last.
    """
    return [[os.path.relpath(os.path.join(stage, src), output), dst] for src, dst in moves.items()]


def write_synced(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all, on disk before this returns (a journal, a ledger file)."""
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(path + ".tmp", path)


def remove_tables(output: str) -> None:
    """Delete the tables and the summary an earlier run left in ``output`` (a new streaming job's overwrite)."""
    for name in (*TABLES, SUMMARY_FILE):
        path = os.path.join(output, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def make_tables(output: str) -> None:
    """Create every table's directory: readers can open each table, empty until it has rows."""
    for table in TABLES:
        os.makedirs(os.path.join(output, table), exist_ok=True)


def _apply(steps: Sequence[Sequence[str]], stage: str) -> None:
    trash = os.path.join(stage, "trash")
    output = os.path.dirname(os.path.dirname(stage))  # stage is OUTPUT/_staging/<run_id>
    for k, step in enumerate(steps):
        src, dst = (os.path.join(output, path) for path in step)  # an absolute path (older journals) stays
        if not os.path.exists(src):
            continue  # done before a crash
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(src):
            if os.path.exists(dst):
                os.makedirs(trash, exist_ok=True)
                os.replace(dst, os.path.join(trash, str(k)))
            os.replace(src, dst)
        else:
            os.replace(src, dst)  # atomic, replaces a same-named file of an earlier try


def commit(output: str, stage: str, run_id: str, mode: Mode | str, partition_by: str | None) -> None:
    """Lay out the staged tables, journal the moves, apply them, then drop the staging directory."""
    mode = Mode(mode)
    layout = _layout(stage, run_id, partition_by)
    steps = _plan(output, stage, layout, mode, partition_by)
    write_synced(os.path.join(stage, JOURNAL), json.dumps(steps))  # from here on, the next run's recover() finishes it
    _apply(steps, stage)
    make_tables(output)  # a table with no rows in any partition still exists, empty
    shutil.rmtree(stage, ignore_errors=True)
