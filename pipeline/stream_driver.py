"""The streaming driver: watch ``--input`` until ``--max-seconds`` or SIGINT/SIGTERM, one file per window.

Inside the output lock (held until the last window is written, so that no batch
run's ``recover()`` deletes a micro-batch's staging under it):

1. **resume or start**: finish or drop what a killed run staged, load the output's
   ledger (``pipeline/io/ledger.py``); an overwrite of an output without one starts
   from empty tables;
2. **watch**, one of two ways, reading the files of one
   :class:`~newsevents.pipeline.io.file_source.FileSource`:

   - on a runner that runs a streaming pipeline stage by stage (the local
     DirectRunner, offline: windows would appear only at the end), as
     **micro-batches**: every poll the new settled files go through the batch graph
     with the same event-time windows and per-window writer, and once a batch's
     accounting holds, its files and its ledger entry are committed by one journal.
     A restarted job keeps the windows written before and reads only the files they
     do not hold, or that changed;
   - on any other runner, as the **Beam streaming graph** (``pipeline/streaming.py``),
     whose restarts are the runner's own;
3. **account** for every record read and write the summary.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from newsevents.pipeline import graph
from newsevents.pipeline.batch import claim_output, records_read, require_accounted
from newsevents.pipeline.io import commit as staged
from newsevents.pipeline.io.file_source import FileSource
from newsevents.pipeline.io.ledger import LEDGER_DIR, Ledger, Verdict
from newsevents.pipeline.io.read_articles import InputFile, split_location
from newsevents.pipeline.metrics import count_rows, summarise, write_summary
from newsevents.pipeline.options import RunConfig
from newsevents.pipeline.progress import Progress
from newsevents.pipeline.runners import capabilities_of
from newsevents.pipeline.streaming import STOP, stop_on_signals
from newsevents.schemas.errors import ConfigError

__all__ = ["run_streaming"]


def run_streaming(cfg: RunConfig, options: PipelineOptions, handlers: Sequence, test_pipeline=None) -> dict:
    """Run a streaming job of validated options; returns its summary (also ``OUTPUT/_SUMMARY.json``)."""
    with claim_output(cfg.output, handlers):
        staged.recover(cfg.output)  # a micro-batch killed after its journal is finished, one killed before it dropped
        ledger = Ledger.load(cfg.output)
        local = test_pipeline is None and capabilities_of(options).streams_stage_by_stage
        if ledger.found and not local:
            raise ConfigError(
                f"{cfg.output} holds the ledger of a local streaming job ({LEDGER_DIR}/), which a streaming runner's "
                "graph does not keep: it would read every watched file again. Resume it on the local runner, or "
                "choose another --output.")
        staged.check_mode(cfg.output, cfg.mode)
        # An output with a ledger is this job's, restarted: resumed in any mode (README "Streaming").
        if cfg.mode == "overwrite" and not ledger.found:
            staged.remove_tables(cfg.output)
        staged.make_tables(cfg.output)  # readers can open every table from the start, empty until a window closes
        STOP.clear()
        if threading.current_thread() is threading.main_thread():
            stop_on_signals()
        source = FileSource.watching(cfg.input, cfg.settle_seconds)
        if local:
            return _micro_batches(cfg, options, source, ledger)
        return _streaming_graph(cfg, options, source, test_pipeline)


def _streaming_graph(cfg: RunConfig, options: PipelineOptions, source: FileSource, test_pipeline=None) -> dict:
    """The Beam streaming graph, watching until it stops; then the files it read are accounted for."""
    started = time.perf_counter()
    pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=options)
    graph.build_graph(pipeline, cfg, [], cfg.output)
    with Progress(0 if cfg.quiet else cfg.progress_seconds):
        result = pipeline.run()
        result.wait_until_finish()
    watch_ended = time.time()
    counts = records_read(result, lambda: _files_read(cfg, source, watch_ended), cfg.max_article_chars)
    summary = summarise(cfg.output, counts, time.perf_counter() - started, [])
    summary.update(input_files=len(summary["by_file"]), run_id=None, mode=cfg.mode, partition_by=None, streaming=True)
    write_summary(cfg.output, summary)
    require_accounted(summary, f"in the streaming run into {cfg.output}")
    return summary


def _files_read(cfg: RunConfig, source: FileSource, watch_ended: float) -> list[InputFile]:
    """Files the streaming graph read, counted where the runner reports no metrics.

    Those its rows name, and those settled long enough before watching stopped.
    """
    named = set()
    for table in ("documents", "dead_letters"):
        rows = count_rows(cfg.output, table, ["input_location"])
        if rows is not None:
            named |= {split_location(loc)[0] for loc in rows.column("input_location").to_pylist()}
    margin = cfg.settle_seconds + 2 * cfg.poll_seconds
    return [f for f, mtime in source.files() if f.path in named or mtime < watch_ended - margin - 5]


def _micro_batches(cfg: RunConfig, options: PipelineOptions, source: FileSource, ledger: Ledger) -> dict:
    """Streaming on the local DirectRunner, as a loop of small batch runs committed with the ledger."""
    started = time.perf_counter()
    batch_options = PipelineOptions.from_dictionary(options.get_all_options(drop_default=True))
    batch_options.view_as(StandardOptions).streaming = False
    deadline = time.time() + cfg.max_seconds if cfg.max_seconds else float("inf")
    restart = _resume(cfg, ledger)
    mine: set[str] = set()  # files committed by this run (relative to the watched directory)
    skipped: set[str] = set()
    reprocessed: list[str] = []
    total, batches = None, 0
    with Progress(0 if cfg.quiet else cfg.progress_seconds):
        while True:
            stopping = STOP.is_set() or time.time() >= deadline
            batch, states = [], {}
            for f in source.settled(time.time()):
                try:
                    verdict, state = ledger.check(f.relative, f.path)
                except FileNotFoundError:
                    continue  # removed since it was listed
                if verdict is Verdict.COMMITTED:
                    if f.relative not in mine:
                        skipped.add(f.relative)
                    continue
                if verdict is Verdict.CHANGED:
                    print(f"newsevents: {f.path} changed since it was committed; reading it again (the rows of "
                          "its earlier version stay in the windows written before).", file=sys.stderr)
                    reprocessed.append(f.relative)
                batch.append(f)
                states[f.relative] = state
            if batch:
                total = _merge(total, _micro_batch(cfg, batch_options, ledger, batch, states))
                mine |= {f.relative for f in batch}
                batches += 1
            if stopping:
                break
            STOP.wait(cfg.poll_seconds)
    if total is None:
        with tempfile.TemporaryDirectory() as empty:  # this run read nothing: nothing of the output is its
            total = summarise(empty, {}, 0.0, [])
    summary = total
    seconds = time.perf_counter() - started
    summary.update(input_files=len(summary["by_file"]), seconds=round(seconds, 2),
                   documents_per_s=round(summary["documents_written"] / seconds, 2) if seconds > 0 else None,
                   run_id=None, mode=cfg.mode, partition_by=None, streaming=True, micro_batches=batches,
                   **restart, skipped_files=len(skipped - mine), reprocessed_files=reprocessed)
    write_summary(cfg.output, summary)
    return summary


def _micro_batch(cfg: RunConfig, batch_options: PipelineOptions, ledger: Ledger, batch: list[InputFile],
                 states: dict) -> dict:
    """One micro-batch: staged, run, accounted for, then committed with its ledger entry; returns its summary."""
    seq = ledger.next_batch
    stage = staged.staging_dir(cfg.output, f"stream-{seq:08d}")
    shutil.rmtree(stage, ignore_errors=True)
    # The batch number, never reused in this output, keeps a restart's files from replacing earlier ones.
    batch_cfg = dataclasses.replace(cfg, batch_tag=f"{seq:05d}")
    pipeline = beam.Pipeline(options=batch_options)
    graph.build_graph(pipeline, batch_cfg, batch, stage)
    result = pipeline.run()
    result.wait_until_finish()
    part = summarise(stage, records_read(result, lambda: batch, cfg.max_article_chars), 0.0, batch)
    require_accounted(part, f"micro-batch {seq} of the streaming run was not committed")
    counts = {f.relative: {k: part["by_file"][f.path][k] for k in ("read", "documents", "dead_letters")}
              for f in batch}
    ledger.commit(stage, seq, {f.relative: (f.path, states[f.relative], counts[f.relative]) for f in batch},
                  staged.staged_files(stage), cfg.input)
    return part


def _resume(cfg: RunConfig, ledger: Ledger) -> dict:
    """What a restart keeps, said on stderr, and its part of the summary."""
    if not ledger.found:
        return {"resumed": False}
    whole, partly = ledger.gone()
    again = ledger.forget(whole)
    if again:
        print(f"newsevents: every window file of the earlier micro-batches {whole} is gone from {cfg.output}; "
              f"their {len(again)} input files are read again.", file=sys.stderr)
    if partly:
        print(f"newsevents: warning: some window files of the earlier micro-batches {partly} are gone from "
              f"{cfg.output}; their input files are not read again, which would double the rows still there. "
              f"Delete {cfg.output} to start over.", file=sys.stderr)
    kept = sum(os.path.exists(os.path.join(cfg.output, f)) for f in ledger.window_files())
    if not cfg.quiet:
        print(f"newsevents: resuming the streaming job in {cfg.output}: its {kept} window files are kept and its "
              f"{ledger.input_files} committed input files are not read again unless they changed "
              f"(delete {cfg.output} to start over).", file=sys.stderr)
    return {"resumed": True, "kept_window_files": kept, "committed_before": ledger.input_files}


def _merge(total: dict | None, part: dict) -> dict:
    """Add one micro-batch's summary to the run's."""
    if total is None:
        return part
    for key, value in part.items():
        if key == "by_file":
            total[key].update(value)
        elif isinstance(value, dict):
            merged = dict(total.get(key) or {})
            for k, v in value.items():
                merged[k] = merged.get(k, 0) + v
            total[key] = merged
        elif key == "accounted":
            total[key] = total[key] and value
        elif isinstance(value, int) and not isinstance(value, bool) and isinstance(total.get(key), int):
            total[key] += value
    return total
