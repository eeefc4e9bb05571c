"""The batch driver: claim the output, stage, run, account, commit.

1. **claim** (:func:`claim_output`): hold the output lock, finish a crashed run's
   commit, refuse a mode or layout that cannot work, check the models' files;
2. **stage**: the tables are written to ``OUTPUT/_staging/<run id>/``, the run id
   being a hash of the inputs' bytes and the settings (``pipeline/io/commit.py``);
3. **run** the graph (``pipeline/graph.py``) on the chosen runner;
4. **account** (:func:`require_accounted`): every record read is a document or a
   dead letter, file by file, or nothing is committed;
5. **commit** the staged tables into place in one journal (README "Output modes").

An object-store output is written in place: no lock, no staging, no commit. The
streaming driver (``pipeline/stream_driver.py``) claims the output and accounts for
its micro-batches with the same functions.

With ``--table-format delta`` (:func:`_run_delta`) the same steps run without the lock
(concurrent runs are Delta's optimistic concurrency's to settle), each run staging in
its own directory (``pipeline/io/staging.py``), and the commit is one Delta commit per
table (``pipeline/io/delta.py``), on a local output or an object store alike.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from typing import Callable, Iterator, Sequence

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from newsevents.models.registry import resolve
from newsevents.pipeline import __version__, graph
from newsevents.pipeline.io import commit as staged
from newsevents.pipeline.io.delta import DELTA_LOG, DeltaOutput
from newsevents.pipeline.io.lock import OutputLock
from newsevents.pipeline.io.read_articles import READ_NAMESPACE, InputFile, count_records, expand_input, is_remote
from newsevents.pipeline.io.staging import StagingAttempt
from newsevents.pipeline.metrics import summarise, write_summary
from newsevents.pipeline.options import RunConfig
from newsevents.pipeline.progress import Progress
from newsevents.pipeline.runners import capabilities_of, runner_argv
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import AccountingError, ConfigError

__all__ = ["claim_output", "records_read", "require_accounted", "run_batch"]

_LOG = logging.getLogger(__name__)


def run_batch(cfg: RunConfig, beam_argv: list[str], handlers: Sequence, test_pipeline=None) -> dict:
    """Run a batch job of validated options; returns its summary (also ``OUTPUT/_SUMMARY.json``)."""
    files = expand_input(cfg.input)
    if cfg.table_format == "delta":
        return _run_delta(cfg, beam_argv, files, handlers, test_pipeline)
    with claim_output(cfg.output, handlers, prepare=lambda: _check_output(cfg)):
        return _stage_run_commit(cfg, beam_argv, files, test_pipeline)


def _run_delta(cfg: RunConfig, beam_argv: list[str], files: list[InputFile], handlers: Sequence,
               test_pipeline=None) -> dict:
    """Claim (no lock), stage in this run's own directory, run, account, then one Delta commit per table."""
    run_id = staged.compute_run_id([f.path for f in files], _settings(cfg))
    tables = DeltaOutput(cfg.output, run_id, cfg.mode, cfg.partition_by)
    with claim_output(cfg.output, handlers, prepare=tables.check, exclusive=False), \
            StagingAttempt(cfg.output, run_id) as stage:
        in_output = tables.output_keys(stage) if cfg.mode == "append" else []
        summary = _run_graph(cfg, beam_argv, files, stage, in_output, test_pipeline,
                             countable=not is_remote(cfg.input))
        summary.update(run_id=run_id, mode=cfg.mode, partition_by=cfg.partition_by, table_format=cfg.table_format)
        require_accounted(summary, f"nothing was committed to {cfg.output}")
        tables.commit(stage, summary)
        if not is_remote(cfg.output):
            write_summary(cfg.output, summary)  # an object store's copy is the documents commit's metadata
        return summary


def _run_graph(cfg: RunConfig, beam_argv: list[str], files: list[InputFile], stage: str, in_output: list[str],
               test_pipeline, countable: bool) -> dict:
    """Run the graph into ``stage``; returns the summary of what it staged (``countable``: inputs readable here)."""
    started = time.perf_counter()
    # Progress first: worker processes of a local Dask cluster then inherit its channel.
    with Progress(0 if cfg.quiet else cfg.progress_seconds), \
            runner_argv(list(beam_argv), cfg.dask_address, cfg.dask_workers) as argv:
        pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=PipelineOptions(argv))
        graph.build_graph(pipeline, cfg, files, stage, in_output)  # looked up here: tests replace it
        result = pipeline.run()
        result.wait_until_finish()
        if capabilities_of(pipeline).client_in_result:
            result.client.close()  # the DaskRunner's client, before its cluster goes
    counts = records_read(result, (lambda: files) if countable else None, cfg.max_article_chars)
    return summarise(stage, counts, time.perf_counter() - started, files)


def _stage_run_commit(cfg: RunConfig, beam_argv: list[str], files: list[InputFile], test_pipeline=None) -> dict:
    local = not is_remote(cfg.output)
    in_output: list[str] = []
    if local:
        run_id = staged.compute_run_id([f.path for f in files], _settings(cfg))
        stage = staged.staging_dir(cfg.output, run_id)
        shutil.rmtree(stage, ignore_errors=True)
        # An append does not write again what earlier runs wrote. This job's own earlier files (same
        # run id: same inputs and settings) are left out: its commit replaces them, so appending the
        # same input twice changes nothing, dead letters included.
        if cfg.mode == "append":
            in_output = staged.document_files(cfg.output, exclude_run=run_id)
    else:
        run_id, stage = None, cfg.output
    summary = _run_graph(cfg, beam_argv, files, stage, in_output, test_pipeline, countable=local)
    summary.update(run_id=run_id, mode=cfg.mode, partition_by=cfg.partition_by)
    write_summary(stage, summary)
    if not summary["accounted"] and local:
        shutil.rmtree(stage, ignore_errors=True)  # nothing of a run that lost records becomes visible
    require_accounted(summary, f"nothing was committed to {cfg.output}")
    if local:
        staged.commit(cfg.output, stage, run_id, cfg.mode, cfg.partition_by)
    return summary


def _settings(cfg: RunConfig) -> dict:
    # What shapes the output besides the input bytes: part of the run id.
    return {"version": __version__, "ner_model": resolve(cfg.ner_model)[1], "event_model": resolve(cfg.event_model)[1],
            "max_article_chars": cfg.max_article_chars, "max_words_per_chunk": cfg.max_words_per_chunk,
            "chunk_overlap": cfg.chunk_overlap, "precision": cfg.precision, "partition_by": cfg.partition_by,
            # Only when not the default, so a torch run keeps the run id it had before --backend existed.
            **({"backend": cfg.backend} if cfg.backend != "torch" else {})}


def _check_output(cfg: RunConfig) -> None:
    """Finish a crashed commit, then refuse a mode or layout that cannot work, before the models load."""
    if is_remote(cfg.output):
        return
    staged.recover(cfg.output)  # finish a crashed run's commit, drop attempts that never reached one
    delta = [t for t in TABLES if os.path.isdir(os.path.join(cfg.output, t, DELTA_LOG))]
    if delta:
        raise ConfigError(f"{cfg.output} holds the Delta tables {delta} (a --table-format delta output); add "
                          "--table-format delta, or choose another --output.")
    staged.check_mode(cfg.output, cfg.mode)
    staged.check_layout(cfg.output, cfg.mode, cfg.partition_by)


@contextlib.contextmanager
def claim_output(output: str, handlers: Sequence, prepare: Callable[[], None] | None = None,
                 exclusive: bool = True) -> Iterator[None]:
    """Hold the output lock for the whole run, then check the output and the models' files, before anything is written.

    The lock comes first so that a second run into a busy directory stops at once,
    without loading models; ``prepare`` (recovery, mode and layout checks) runs next,
    then the models are loaded once. Object-store outputs are not locked: they have no
    ``flock`` (and no staged commit either; README "Output modes").
    If the run fails, however it fails, its staged attempts that never reached a commit
    journal are deleted before the lock is released: a failed run leaves no ``_staging/``.
    ``exclusive=False`` (a Delta run): no lock and no such clean-up; runs share the output,
    each with its own staging (``pipeline/io/staging.py``).
    """
    local = not is_remote(output)
    if local:
        _writable_output(output)
    local = local and exclusive
    with OutputLock(output) if local else contextlib.nullcontext():
        # The lock is released on return, on errors and on Ctrl-C; the kernel drops it if the process is killed.
        try:
            if prepare is not None:
                prepare()
            for handler in handlers:
                handler.preflight()
            yield
        except BaseException:
            if local:
                staged.discard_attempts(output)
            raise


def _writable_output(output: str) -> None:
    """Create ``output`` and write a file in it, or raise ConfigError saying why not."""
    try:
        os.makedirs(output, exist_ok=True)
        with tempfile.TemporaryFile(dir=output, prefix="_probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--output {output} cannot be written: {exc.strerror or exc}; choose a directory this user "
                          "can create and write.") from None


def records_read(result, files: Callable[[], list[InputFile]] | None, max_chars: int) -> dict[str, int] | None:
    """Records read per file: the reader's Beam counters, else (a runner without metrics) counted in ``files()``.

    ``files`` is None where the input cannot be read from here (a cluster's remote paths).
    """
    counts = _counters(result)
    if counts is None and files is not None:
        counts = count_records(files(), max_chars)
    return counts


def _counters(result) -> dict[str, int] | None:
    """Records read per input file, from the reader's Beam counters (None if the runner reports none)."""
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(READ_NAMESPACE))["counters"]
    except Exception:  # noqa: BLE001 - some runners do not report metrics
        _LOG.debug("no metrics from the runner", exc_info=True)
        return None
    counts: dict[str, int] = {}
    for c in counters:
        value = (c.committed if c.committed is not None else c.attempted) or 0
        counts[c.key.metric.name] = counts.get(c.key.metric.name, 0) + value
    return counts


def require_accounted(summary: dict, consequence: str) -> None:
    """Raise AccountingError naming the files whose records are not all documents or dead letters."""
    if summary["accounted"]:
        return
    bad = {f: c for f, c in summary["by_file"].items() if not c["accounted"]}
    raise AccountingError(
        f"Records read ({summary['records_read']}) != documents written ({summary['documents_written']}) "
        f"+ record dead letters ({summary['record_dead_letters']}) for the files {bad}; {consequence}. "
        "Please report this with the input that caused it."
    )
