"""Delta Lake output (``--table-format delta``): each table a Delta table, one commit per table per run.

The graph writes a run's tables as Parquet into its staging directory, as for the
Parquet format (``pipeline/io/staging.py``). Once the run's accounting holds,
:meth:`DeltaOutput.commit` commits each staged table to ``OUTPUT/<table>`` with
``deltalake`` (delta-rs), the tables' schemas being the project's Arrow schemas
(``schemas/arrow.py``; a partitioned table adds its ``published_date`` column):

- every commit carries the run id in its custom metadata (``newsevents.run_id``,
  with the schema version and the mode) and an app transaction
  ``newsevents-<run id>`` (Delta's ``txn`` action, kept in checkpoints); the
  schema version is also the table property ``newsevents.schema_version``;
- ``overwrite``: the whole table, or with ``--partition-by published_date`` only the
  partitions of the run's rows, by a predicate replace; the dead letters of a
  partitioned run are added;
- ``append`` (and the dead letters above): added, idempotently: a table that holds
  the run's app transaction already has this job's rows and is skipped;
- ``fail-if-exists``: refused before any work if a table holds a commit of another run (or this
  job's complete commit); a table that only this run's killed attempt wrote to is completed.

**Concurrency is optimistic.** No lock: the tables' versions are read when the run
claims the output, before the models run, and delta-rs checks each commit against
every commit made since. An append never conflicts (delta-rs retries it on the new
version); an overwrite conflicts with a concurrent write into what it replaces, and
then fails with :class:`~newsevents.schemas.errors.OutputLockedError`, its rows not
committed and the other run's kept. Replacing commits are made first, so a run that
loses such a conflict has added nothing either.

**Atomic per table.** A commit is one entry of the table's ``_delta_log``: a run
killed at any point leaves each table at its previous version or with this run's
commit complete. Delta has no transaction across tables, so a run killed between two
tables' commits leaves the earlier ones committed; the rerun of the same job (same
inputs and settings, so the same run id) commits the others, skipping those an
append already holds and replacing, with the same rows, those an overwrite did.
An append's documents are committed last: its duplicate check reads them, leaving out
the rows of this job's own earlier commits (found through the table's history).

**Schema evolution.** A run whose schema adds columns appends with
``schema_mode="merge"`` and raises the table's schema version; a column whose type
differs from the table's is refused before any work (:func:`schema_conflicts`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Iterator, Mapping

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from newsevents.pipeline.io.commit import (
    NULL_PARTITION,
    PARTITION_COLUMN,
    PARTITIONED_TABLES,
    Mode,
    doc_partitions,
    staged_files,
)
from newsevents.pipeline.io.read_articles import is_remote
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import CommitConflictError, ConfigError, OutputLockedError

__all__ = [
    "COMMIT_ORDER",
    "DELTA_LOG",
    "RUN_ID_KEY",
    "VERSION_KEY",
    "DeltaOutput",
    "app_id",
    "is_delta_table",
    "open_dataset",
    "partition_predicate",
    "schema_conflicts",
    "table_runs",
    "table_schema_version",
    "table_uri",
    "version_tuple",
]

_LOG = logging.getLogger(__name__)

DELTA_LOG = "_delta_log"
#: Keys of each commit's custom metadata; ``VERSION_KEY`` is also a table property.
RUN_ID_KEY = "newsevents.run_id"
VERSION_KEY = "newsevents.schema_version"
MODE_KEY = "newsevents.mode"
SUMMARY_KEY = "newsevents.summary"  # the documents commit's: the run's counts (an object store has no _SUMMARY.json)
#: Documents last: an append's duplicate check reads them, and their commit completes the run. Replacing
#: commits go before adding ones (:meth:`DeltaOutput.commit`): a conflict then stops a run before it added any.
COMMIT_ORDER = ("dead_letters", "entities", "events", "documents")
_SUMMARY_FIELDS = ("input_files", "records_read", "documents_written", "duplicates", "mentions", "events",
                   "dead_letters", "accounted")
# How often an add is made again on a table another run changed the metadata of (replaces: never).
_ADD_ATTEMPTS = 3
# The keys file of an append's duplicate check, in the run's staging directory (outside every table's folder).
_KEYS_FILE = "_in_output.parquet"


def table_uri(output: str, table: str) -> str:
    """Where one Delta table of ``output`` lives: a URL on an object store, else an absolute path.

    >>> table_uri("s3://bucket/out/", "events")
    's3://bucket/out/events'
    """
    return f"{output.rstrip('/')}/{table}" if is_remote(output) else os.path.join(os.path.abspath(output), table)


def app_id(run_id: str) -> str:
    """The Delta app transaction id a run's commits carry: its mark of "this job has committed here"."""
    return f"newsevents-{run_id}"


def is_delta_table(path: str) -> bool:
    """Whether ``path`` (a local table folder) is a Delta table: it has a ``_delta_log``."""
    return os.path.isdir(os.path.join(path, DELTA_LOG))


def version_tuple(version: str | None) -> tuple[int, ...]:
    """A schema version as numbers, for comparing (none: ``()``, older than any).

    >>> version_tuple("1.10.0") > version_tuple("1.4.0") > version_tuple(None)
    True
    """
    return tuple(int(part) for part in version.split(".")) if version else ()


def _schema_version(schema: pa.Schema) -> str | None:
    value = (schema.metadata or {}).get(b"newsevents.schema_version")
    return value.decode() if value else None


def partition_predicate(days: set[dt.date | None]) -> str:
    """The predicate that selects the ``published_date`` partitions ``days`` (None: no date), for a replace.

    Values are dates the pipeline made, never input text.

    >>> partition_predicate({dt.date(2026, 3, 2), None, dt.date(2026, 3, 1)})
    "published_date IN ('2026-03-01', '2026-03-02') OR published_date IS NULL"
    """
    known = sorted(d for d in days if d is not None)
    parts = [f"{PARTITION_COLUMN} IN ({', '.join(repr(d.isoformat()) for d in known)})"] if known else []
    if None in days:
        parts.append(f"{PARTITION_COLUMN} IS NULL")
    return " OR ".join(parts)


def schema_conflicts(table: list[Any], ours: list[Any]) -> tuple[list[str], list[str]]:
    """What stops rows of schema ``ours`` from joining a table of schema ``table``, and the columns they add.

    Both are lists of Delta fields (``deltalake.Schema(...).fields``: name, type, nullable).
    A column's type cannot change in place; a column the table requires must be written;
    a column may not become nullable. New columns are merged in (schema evolution).

    Returns:
        ``(conflicts, new columns)``: each conflict a sentence.
    """
    theirs = {f.name: f for f in table}
    mine = {f.name: f for f in ours}
    conflicts = []
    for name, f in mine.items():
        if name not in theirs:
            continue
        if repr(f.type) != repr(theirs[name].type):
            conflicts.append(f"column {name!r} is {_type_name(theirs[name].type)} in the table but "
                             f"{_type_name(f.type)} in this run's schema")
        elif f.nullable and not theirs[name].nullable:
            conflicts.append(f"column {name!r} is required in the table but may be null in this run's schema")
    conflicts += [f"column {name!r} is required in the table but not in this run's schema"
                  for name, f in theirs.items() if name not in mine and not f.nullable]
    return conflicts, [name for name in mine if name not in theirs]


def _type_name(delta_type: Any) -> str:
    # PrimitiveType("long") -> long; nested types as delta-rs writes them.
    text = repr(delta_type)
    return text[len('PrimitiveType("'):-2] if text.startswith('PrimitiveType("') else text


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _deltalake():
    try:
        import deltalake
    except ImportError:  # checked by RunConfig.validate(); a reader of a Delta output may lack it
        raise ConfigError("Delta tables need the deltalake package: pip install 'newsevents[delta]'.") from None
    return deltalake


def _load(uri: str, storage_options: dict[str, str] | None = None, version: int | None = None):
    """The Delta table at ``uri`` (its latest version, or ``version``), or None if there is none."""
    deltalake = _deltalake()
    from deltalake.exceptions import TableNotFoundError

    try:
        return deltalake.DeltaTable(uri, version=version, storage_options=storage_options)
    except TableNotFoundError:
        return None


def open_dataset(path: str, storage_options: dict[str, str] | None = None) -> ds.Dataset:
    """The current version of a Delta table as a pyarrow dataset (partition columns included)."""
    return _deltalake().DeltaTable(path, storage_options=storage_options).to_pyarrow_dataset()


def table_runs(path: str, storage_options: dict[str, str] | None = None) -> list[str]:
    """The run ids of the commits in a Delta table's history, oldest first, each once."""
    history = _deltalake().DeltaTable(path, storage_options=storage_options).history()
    runs = [h[RUN_ID_KEY] for h in sorted(history, key=lambda h: h["version"]) if RUN_ID_KEY in h]
    return list(dict.fromkeys(runs))


def table_schema_version(path: str, storage_options: dict[str, str] | None = None) -> str | None:
    """A Delta table's ``newsevents.schema_version`` property."""
    table = _deltalake().DeltaTable(path, storage_options=storage_options)
    return table.metadata().configuration.get(VERSION_KEY)


class DeltaOutput:
    """The four Delta tables of one ``--output``, as one run finds them and commits to them.

    Args:
        output: the ``--output`` directory or ``s3://``/``gs://``/``az://`` URL.
        run_id: the run's id; its commits carry it.
        mode: ``overwrite``, ``append`` or ``fail-if-exists``.
        partition_by: ``published_date`` or None.
        schemas: each table's Arrow schema, its version in the metadata (default: the project's).
        storage_options: delta-rs storage options (default: read from the environment, such as
            ``AWS_ENDPOINT_URL``; README "Output modes").

    Example::

        tables = DeltaOutput("s3://bucket/out", run_id, "append", "published_date")
        tables.check()         # before any work: refuses what cannot work, reads the versions to build on
        ...                    # the graph writes the staged Parquet tables into `stage`
        tables.commit(stage)   # one commit per table
    """

    def __init__(self, output: str, run_id: str, mode: Mode | str, partition_by: str | None,
                 schemas: Mapping[str, pa.Schema] = TABLES, storage_options: dict[str, str] | None = None) -> None:
        self.output = output
        self.run_id = run_id
        self.mode = Mode(mode)
        self.partition_by = partition_by
        self.schemas = dict(schemas)
        self.storage_options = storage_options
        self._base: dict[str, Any] = {}  # each table as the run found it (None: no table yet)
        self.committed: list[str] = []

    # --- before any work --------------------------------------------------------------------------

    def check(self) -> None:
        """Read each table's version, the base of this run's commits, and refuse a mode or schema that cannot work.

        Raises:
            ConfigError: ``fail-if-exists`` and a table holds another run's commits; an append in another
                ``--partition-by`` layout; a column whose type differs from the table's; a Parquet table there.
        """
        self._refuse_parquet_tables()
        for table in self.schemas:
            try:
                self._base[table] = _load(table_uri(self.output, table), self.storage_options)
            except Exception as exc:  # noqa: BLE001 - delta-rs's errors for a bad URL or credentials are many
                if isinstance(exc, ConfigError):
                    raise
                raise ConfigError(f"--output {self.output}: the Delta table {table} cannot be read "
                                  f"({type(exc).__name__}: {_one_line(exc)}); check the URL and the storage "
                                  "credentials (README \"Output modes\").") from None
        if self.mode is Mode.FAIL_IF_EXISTS:
            # Tables of this run only are a killed attempt's, for its rerun to complete; unless its
            # documents, committed last, show it complete.
            documents = self._base.get("documents")
            complete = documents is not None and documents.transaction_version(app_id(self.run_id)) is not None
            existing = [t for t, base in self._base.items() if base is not None and (complete or self._others(base))]
            if existing:
                raise ConfigError(f"--mode fail-if-exists: {self.output} already holds the tables {existing}; "
                                  "choose another --output, or --mode overwrite|append.")
        for table, base in self._base.items():
            if base is None:
                continue
            partitioned = bool(base.metadata().partition_columns)
            if self.mode is Mode.APPEND and table in PARTITIONED_TABLES and partitioned != self._partitioned(table):
                raise ConfigError(
                    f"--mode append: {table_uri(self.output, table)} is {'' if partitioned else 'not '}partitioned "
                    f"but this run's {table} table is{'' if self._partitioned(table) else ' not'}; use the same "
                    "--partition-by or --mode overwrite.")
            if self._operation(table) == "replace":
                continue  # the whole table is replaced, schema and layout with it
            conflicts, _ = schema_conflicts(base.schema().fields, self._delta_schema(table).fields)
            if conflicts:
                raise ConfigError(
                    f"{table_uri(self.output, table)} cannot take this run's rows (schema "
                    f"{_schema_version(self.schemas[table])}, table schema {self._version_of(base) or 'unknown'}): "
                    f"{'; '.join(conflicts)}. A column's type cannot change in place: write to another --output, "
                    "or replace the table with --mode overwrite (without --partition-by).")

    def _refuse_parquet_tables(self) -> None:
        if is_remote(self.output):
            return
        for table in self.schemas:
            path = os.path.join(self.output, table)
            if os.path.isdir(path) and os.listdir(path) and not is_delta_table(path):
                raise ConfigError(f"--table-format delta: {path} holds Parquet files but no Delta log (a "
                                  "--table-format parquet output); choose another --output or --table-format parquet.")

    def _others(self, table) -> bool:
        """Whether a table's history holds a commit that is not this run's."""
        return any(h.get(RUN_ID_KEY) != self.run_id for h in table.history())

    def output_keys(self, stage: str) -> list[str]:
        """For an append's duplicate check: the documents already in the output, as one Parquet file of keys.

        This job's own earlier commit (a rerun: same run id) is left out: its rows are not
        written again either way (its tables hold the run's app transaction), and the rerun's
        summary counts them as the first run did. Returns ``[path]``, or ``[]`` if there are none.
        """
        base = self._base.get("documents")
        if base is None:
            return []
        data = base.to_pyarrow_dataset()
        own = self._own_files(base)
        columns = [c for c in ("doc_id", "text_hash") if c in data.schema.names]
        parts = [f.to_table(columns=columns, schema=data.schema) for f in data.get_fragments() if f.path not in own]
        keys = pa.concat_tables(parts) if parts else None
        if keys is None or keys.num_rows == 0:
            return []
        path = os.path.join(stage, _KEYS_FILE)
        pq.write_table(keys, path)
        return [path]

    def _own_files(self, table) -> set[str]:
        """The files this run's earlier commits added to ``table`` (relative paths), found through its history."""
        own: set[str] = set()
        for h in table.history():
            if h.get(RUN_ID_KEY) == self.run_id and h.get("operation") == "WRITE" and h["version"] > 0:
                after = self._files(table.table_uri, h["version"])
                own |= after - self._files(table.table_uri, h["version"] - 1)
        return own

    def _files(self, uri: str, version: int) -> set[str]:
        snapshot = _load(uri, self.storage_options, version)
        return set(pa.table(snapshot.get_add_actions(flatten=True)).column("path").to_pylist())

    # --- the commit ----------------------------------------------------------------------------------

    def commit(self, stage: str, summary: Mapping[str, Any] | None = None) -> None:
        """Commit each staged table, documents last (see the module docstring).

        Raises:
            CommitConflictError: another run's commit conflicts with this one's (``committed`` lists the
                tables this run had committed before).
        """
        dates = ({doc: _day(value) for doc, value in doc_partitions(stage).items()}
                 if self.partition_by else {})
        if self.mode is Mode.FAIL_IF_EXISTS:
            self._refuse_new_writers()
        # Only a replace can conflict with another run's commit: those first, so that a run that loses
        # such a conflict has added nothing (a partitioned overwrite's dead letters are added).
        for table in sorted(COMMIT_ORDER, key=lambda t: self._operation(t) == "add"):
            self._commit_table(table, stage, dates, summary if table == "documents" else None)
            self.committed.append(table)

    def _commit_table(self, table: str, stage: str, dates: dict[str, dt.date | None],
                      summary: Mapping[str, Any] | None) -> None:
        from deltalake import CommitProperties, Transaction, WriterProperties, write_deltalake
        from deltalake.exceptions import CommitFailedError

        uri, operation = table_uri(self.output, table), self._operation(table)
        base = self._base.get(table) or self._create(table)
        if operation == "add" and base.transaction_version(app_id(self.run_id)) is not None:
            _LOG.info("%s already holds run %s's rows; not added again", uri, self.run_id)
            self._raise_version(table, base)
            return
        predicate = None
        if operation == "replace-partitions":
            days = self._days(stage, table, dates)
            if not days:
                return  # no row in any partition: nothing to replace
            predicate = partition_predicate(days)
        metadata: dict[str, Any] = {RUN_ID_KEY: self.run_id, VERSION_KEY: _schema_version(self.schemas[table]),
                                    MODE_KEY: self.mode.value}
        if summary is not None:
            metadata[SUMMARY_KEY] = {k: summary[k] for k in _SUMMARY_FIELDS if k in summary}
        for attempt in range(_ADD_ATTEMPTS if operation == "add" else 1):
            try:
                write_deltalake(
                    base, self._reader(stage, table, dates),
                    mode="append" if operation == "add" else "overwrite", predicate=predicate,
                    partition_by=[PARTITION_COLUMN] if self._partitioned(table) else [],
                    schema_mode=self._schema_mode(table, operation, base),
                    writer_properties=WriterProperties(compression="ZSTD"),
                    commit_properties=CommitProperties(custom_metadata=metadata,
                                                       app_transactions=[Transaction(app_id(self.run_id), 1)]))
                break
            except CommitFailedError as exc:
                latest = _load(uri, self.storage_options)
                if latest is not None and latest.transaction_version(app_id(self.run_id)) is not None:
                    return  # the same job (same run id), committed at the same moment by another process
                if attempt + 1 == _ADD_ATTEMPTS or operation != "add" or latest is None:
                    raise self._conflict(table, exc) from None
                # An add reads nothing, so it is safe to make again on the table as it is now: delta-rs
                # retries it itself unless another run changed the table's metadata (its schema, say).
                _LOG.info("%s changed while this run committed (%s); adding again", uri, _one_line(exc))
                conflicts, _ = schema_conflicts(latest.schema().fields, self._delta_schema(table).fields)
                if conflicts:
                    raise self._conflict(table, exc) from None
                base = latest
        self._raise_version(table, base, replaced=operation == "replace")

    def _operation(self, table: str) -> str:
        """``replace`` (the whole table), ``replace-partitions`` or ``add``."""
        if self.mode is not Mode.OVERWRITE:
            return "add"
        if not self.partition_by:
            return "replace"
        if table not in PARTITIONED_TABLES:
            return "add"  # a partitioned run's dead letters are added per run, as in the Parquet layout
        base = self._base.get(table)
        if base is not None and not base.metadata().partition_columns:
            return "replace"  # the layout changes: the whole table
        return "replace-partitions"

    def _partitioned(self, table: str) -> bool:
        return bool(self.partition_by) and table in PARTITIONED_TABLES

    def _data_schema(self, table: str) -> pa.Schema:
        schema = self.schemas[table]
        return schema.append(pa.field(PARTITION_COLUMN, pa.date32())) if self._partitioned(table) else schema

    def _delta_schema(self, table: str):
        return _deltalake().Schema.from_arrow(self._data_schema(table))

    def _schema_mode(self, table: str, operation: str, base) -> str | None:
        conflicts, _ = schema_conflicts(base.schema().fields, self._delta_schema(table).fields)
        same = {f.name for f in base.schema().fields} == set(self._data_schema(table).names)
        if operation == "replace":
            layout = bool(base.metadata().partition_columns) == self._partitioned(table)
            return None if same and layout and not conflicts else "overwrite"  # the table becomes this run's
        # Schema evolution: new columns join the table; a column of the table this run lacks is null in its rows.
        return None if same else "merge"

    def _create(self, table: str):
        """Create the table (version 0: its schema, partitioning and properties, no rows), or find another run's."""
        deltalake = _deltalake()
        uri = table_uri(self.output, table)
        try:
            return deltalake.DeltaTable.create(
                uri, self._data_schema(table), partition_by=[PARTITION_COLUMN] if self._partitioned(table) else None,
                configuration={VERSION_KEY: _schema_version(self.schemas[table])}, storage_options=self.storage_options,
                raise_if_key_not_exists=False,  # our own property
                # Version 0 or nothing: retried, a lost creation race would commit a second table definition
                # on top of the winner's, and every concurrent commit would then conflict with it.
                commit_properties=deltalake.CommitProperties(custom_metadata={RUN_ID_KEY: self.run_id},
                                                             max_commit_retries=0))
        except Exception as exc:  # noqa: BLE001 - "already exists", or the creation race lost: look
            existing = _load(uri, self.storage_options, version=0)
            if existing is None:
                raise
            if self.mode is Mode.FAIL_IF_EXISTS and self._others(_load(uri, self.storage_options)):
                raise self._conflict(table, exc) from None
            # Another run created it since this one started. Its version 0 holds no rows (created as
            # here): building on it, this run's commit is checked against every commit after it.
            return existing

    def _refuse_new_writers(self) -> None:
        """``fail-if-exists``: refuse, before the first commit, tables another run wrote since this one started."""
        for table in self.schemas:
            latest = _load(table_uri(self.output, table), self.storage_options)
            if latest is not None and self._others(latest):
                raise OutputLockedError(
                    f"--mode fail-if-exists: another run wrote to {table_uri(self.output, table)} while this one "
                    "ran; nothing of this run was committed. Choose another --output, or --mode overwrite|append.")

    def _conflict(self, table: str, exc: BaseException) -> CommitConflictError:
        done = f" It had committed {self.committed} before (the rerun completes it)." if self.committed else ""
        return CommitConflictError(
            f"{table_uri(self.output, table)}: another run committed to this table while this one ran, into what "
            f"this {self.mode.value} would replace (delta-rs: {_one_line(exc)}); this run's {table} rows were not "
            f"committed and the other run's are kept.{done} Run it again once the other run has ended (it then "
            "replaces that run's rows), or give concurrent runs different partitions.")

    def _raise_version(self, table: str, base, replaced: bool = False) -> None:
        """Set the table property ``newsevents.schema_version`` to this run's schema, if that is newer.

        ``replaced``: this run replaced the whole table, so its schema is the table's, older or not.
        """
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError

        ours = _schema_version(self.schemas[table])
        stale = (lambda t: self._version_of(t) != ours) if replaced else (
            lambda t: version_tuple(self._version_of(t)) < version_tuple(ours))
        if not stale(base):
            return
        for _ in range(3):  # a property commit conflicts only with another metadata change: look again
            latest = _load(table_uri(self.output, table), self.storage_options)
            if not stale(latest):
                return
            try:
                latest.alter.set_table_properties(
                    {VERSION_KEY: ours}, raise_if_not_exists=False,
                    commit_properties=CommitProperties(custom_metadata={RUN_ID_KEY: self.run_id}))
                return
            except CommitFailedError as exc:
                conflict = exc
        raise self._conflict(table, conflict) from None

    @staticmethod
    def _version_of(table) -> str | None:
        return table.metadata().configuration.get(VERSION_KEY)

    # --- the staged rows ---------------------------------------------------------------------------

    def _staged(self, stage: str, table: str) -> ds.Dataset:
        files = [os.path.join(stage, f) for f in staged_files(stage) if f.startswith(table + os.sep)]
        return ds.dataset(files, schema=self.schemas[table], format="parquet")

    def _days(self, stage: str, table: str, dates: dict[str, dt.date | None]) -> set[dt.date | None]:
        """The partitions that this run's rows of ``table`` fall in."""
        ids = self._staged(stage, table).to_table(columns=["doc_id"]).column("doc_id").to_pylist()
        return {dates.get(doc_id) for doc_id in ids}

    def _reader(self, stage: str, table: str, dates: dict[str, dt.date | None]) -> pa.RecordBatchReader:
        """The staged rows, streamed (a partitioned table's with their ``published_date``)."""
        data, schema = self._staged(stage, table), self._data_schema(table)

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in data.to_batches():
                columns = list(batch.columns)
                if self._partitioned(table):
                    days = [dates.get(doc_id) for doc_id in batch.column("doc_id").to_pylist()]
                    columns.append(pa.array(days, pa.date32()))
                yield pa.RecordBatch.from_arrays(columns, schema=schema)

        return pa.RecordBatchReader.from_batches(schema, batches())


def _day(partition: str) -> dt.date | None:
    return None if partition == NULL_PARTITION else dt.date.fromisoformat(partition)
