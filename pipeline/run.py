"""``newsevents`` command line and the ``run()`` entry point shared by tests and benchmarks.

    newsevents run --input samples/ --output out/ [--ner-model NAME|PATH|HUB_ID] [beam options]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import time

from pipeline.errors import AccountingError, ConfigError, ModelLoadError, NewsEventsError
from pipeline.io.lock import OutputLock
from pipeline.progress import Progress

__all__ = ["main", "run"]

_LOG = logging.getLogger(__name__)


def _read_counts(result) -> dict[str, int] | None:
    """Records read per input file, from the reader's Beam counters (None if the runner reports none)."""
    from apache_beam.metrics.metric import MetricsFilter

    from pipeline.io.read_articles import READ_NAMESPACE

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


def _counts(result, files, max_chars: int) -> dict[str, int] | None:
    """Records read per file: the reader's counters, else (a runner without metrics) counted in ``files()``.

    ``files`` is None where the input cannot be read from here (a cluster's remote paths).
    """
    counts = _read_counts(result)
    if counts is None and files is not None:
        from pipeline.io.read_articles import count_records

        counts = count_records(files(), max_chars)
    return counts


def _require_accounted(summary: dict, consequence: str) -> None:
    """Raise AccountingError naming the files whose records are not all documents or dead letters."""
    if summary["accounted"]:
        return
    bad = {f: c for f, c in summary["by_file"].items() if not c["accounted"]}
    raise AccountingError(
        f"Records read ({summary['records_read']}) != documents written ({summary['documents_written']}) "
        f"+ record dead letters ({summary['record_dead_letters']}) for the files {bad}; {consequence}. "
        "Please report this with the input that caused it."
    )


def _settings(cfg) -> dict:
    # What shapes the output besides the input bytes: part of the run id.
    from models.registry import resolve
    from pipeline import __version__

    return {"version": __version__, "ner_model": resolve(cfg.ner_model)[1], "event_model": resolve(cfg.event_model)[1],
            "max_article_chars": cfg.max_article_chars, "max_words_per_chunk": cfg.max_words_per_chunk,
            "chunk_overlap": cfg.chunk_overlap, "precision": cfg.precision, "partition_by": cfg.partition_by}


@contextlib.contextmanager
def _claim_output(cfg, handlers):
    """Hold the output lock for the whole run, then check the models' files, before anything is written.

    The lock comes first so that a second run into a busy directory stops at once,
    without loading models. Object-store outputs are not locked: they have no
    ``flock`` (and no staged commit either; README "Output modes").
    """
    if "://" in cfg.output:
        lock = contextlib.nullcontext()
    else:
        os.makedirs(cfg.output, exist_ok=True)
        lock = OutputLock(cfg.output)
    with lock:  # released on return, on errors and on Ctrl-C; the kernel drops it if the process is killed
        for handler in handlers:
            handler.preflight()
        yield


def run(argv: list[str] | None = None, test_pipeline=None) -> dict:
    """Run the pipeline and return its summary (also written to ``OUTPUT/_SUMMARY.json``).

    Args:
        argv: ``newsevents run`` arguments, Beam options included.
        test_pipeline: a ``TestPipeline`` to build on instead of a new pipeline.

    Raises:
        ConfigError: bad options or inputs.
        OutputLockedError: another live run holds ``--output``.
        ModelLoadError: a model's files do not load (checked before the pipeline starts).
        AccountingError: records read != documents written + record dead letters.
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.graph import event_handler, ner_handler
    from pipeline.io.read_articles import expand_input
    from pipeline.options import RunConfig

    options = PipelineOptions(argv)
    cfg = RunConfig.from_options(options)
    for name, value in (("--max-words-per-chunk", cfg.max_words_per_chunk), ("--max-article-chars", cfg.max_article_chars)):
        if value < 1:
            raise ConfigError(f"{name} must be positive, got {value}.")
    if cfg.chunk_overlap >= cfg.max_words_per_chunk:
        raise ConfigError("--chunk-overlap must be smaller than --max-words-per-chunk.")
    handlers = (ner_handler(cfg), event_handler(cfg))
    for handler in handlers:
        handler.validate()
    if cfg.streaming:
        return _run_streaming(cfg, options, handlers, test_pipeline)
    files = expand_input(cfg.input)
    if "://" in cfg.output and (cfg.mode != "overwrite" or cfg.partition_by):
        raise ConfigError("--mode append|fail-if-exists and --partition-by need a local --output directory.")
    with _claim_output(cfg, handlers):
        return _run_batch(cfg, argv, files, test_pipeline)


def _run_batch(cfg, argv, files, test_pipeline=None) -> dict:
    """A batch run, inside the output lock: recover, stage, run, account, commit."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.graph import build_graph
    from pipeline.io.commit import check_mode, commit, compute_run_id, recover, staging_dir
    from pipeline.metrics import summarise, write_summary
    from pipeline.runners import runner_argv

    local = "://" not in cfg.output
    if local:
        recover(cfg.output)  # finish a crashed run's commit, drop attempts that never reached one
        check_mode(cfg.output, cfg.mode)
        run_id = compute_run_id([f.path for f in files], _settings(cfg))
        stage = staging_dir(cfg.output, run_id)
        shutil.rmtree(stage, ignore_errors=True)
    else:
        run_id, stage = None, cfg.output
    started = time.perf_counter()
    with runner_argv(list(argv or []), cfg.dask_address, cfg.dask_workers) as beam_argv, \
            Progress(0 if cfg.quiet else cfg.progress_seconds):
        pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=PipelineOptions(beam_argv))
        build_graph(pipeline, cfg, files, stage)
        result = pipeline.run()
        result.wait_until_finish()
        if getattr(result, "client", None) is not None:  # the DaskRunner's client, before its cluster goes
            result.client.close()
    counts = _counts(result, (lambda: files) if local else None, cfg.max_article_chars)
    summary = summarise(stage, counts, time.perf_counter() - started, files)
    summary.update(run_id=run_id, mode=cfg.mode, partition_by=cfg.partition_by)
    write_summary(stage, summary)
    if not summary["accounted"] and local:
        shutil.rmtree(stage, ignore_errors=True)  # nothing of a run that lost records becomes visible
    _require_accounted(summary, f"nothing was committed to {cfg.output}")
    if local:
        commit(cfg.output, stage, run_id, cfg.mode, cfg.partition_by)
    return summary


def _files_read(cfg, watch_ended: float) -> list:
    """Files a streaming run read: those its rows name, and those settled long enough before it stopped."""
    from pipeline.io.read_articles import expand_input, split_location
    from pipeline.metrics import count_rows

    named = set()
    for table in ("documents", "dead_letters"):
        rows = count_rows(cfg.output, table, ["input_location"])
        if rows is not None:
            named |= {split_location(loc)[0] for loc in rows.column("input_location").to_pylist()}
    try:
        present = expand_input(cfg.input)
    except ConfigError:
        present = []
    margin = cfg.settle_seconds + 2 * cfg.poll_seconds
    return [f for f in present if f.path in named or os.path.getmtime(f.path) < watch_ended - margin - 5]


def _run_streaming(cfg, options, handlers, test_pipeline=None) -> dict:
    """Watch ``--input`` until ``--max-seconds`` or SIGINT/SIGTERM; window files appear as they are written."""
    if "://" in cfg.input or "://" in cfg.output:
        raise ConfigError("--streaming watches a local directory and writes a local --output.")
    if cfg.partition_by:
        raise ConfigError("--partition-by is for batch runs; streaming files are already split by window.")
    if not os.path.isdir(cfg.input) and not any(c in cfg.input for c in "*?["):
        raise ConfigError(f"--streaming needs --input to be a directory or a glob to watch, got {cfg.input!r}.")
    if cfg.window_seconds < 1:
        raise ConfigError(f"--window-seconds must be at least 1, got {cfg.window_seconds}.")
    # Held until the watcher stops and the last window is written, so no batch run's
    # recover() can delete this run's micro-batch staging under it.
    with _claim_output(cfg, handlers):
        return _stream(cfg, options, test_pipeline)


def _stream(cfg, options, test_pipeline=None) -> dict:
    """A streaming run, inside the output lock."""
    import threading

    import apache_beam as beam

    from pipeline.graph import build_graph
    from pipeline.io.commit import check_mode
    from pipeline.metrics import SUMMARY_FILE, summarise, write_summary
    from pipeline.streaming import STOP, stop_on_signals
    from schemas.arrow import TABLES

    check_mode(cfg.output, cfg.mode)
    if cfg.mode == "overwrite":
        for name in (*TABLES, SUMMARY_FILE):
            path = os.path.join(cfg.output, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.path.exists(path) and os.remove(path)
    for name in TABLES:  # readers can open every table from the start, empty until a window closes
        os.makedirs(os.path.join(cfg.output, name), exist_ok=True)
    STOP.clear()
    if threading.current_thread() is threading.main_thread():
        stop_on_signals()
    started = time.perf_counter()
    if test_pipeline is None and _is_local_direct(options):
        return _micro_batches(cfg, options, started)
    pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=options)
    build_graph(pipeline, cfg, [], cfg.output)
    with Progress(0 if cfg.quiet else cfg.progress_seconds):
        result = pipeline.run()
        result.wait_until_finish()
    watch_ended = time.time()
    counts = _counts(result, lambda: _files_read(cfg, watch_ended), cfg.max_article_chars)
    summary = summarise(cfg.output, counts, time.perf_counter() - started, [])
    summary.update(input_files=len(summary["by_file"]), run_id=None, mode=cfg.mode, partition_by=None, streaming=True)
    write_summary(cfg.output, summary)
    _require_accounted(summary, f"in the streaming run into {cfg.output}")
    return summary


def _is_local_direct(options) -> bool:
    from apache_beam.options.pipeline_options import StandardOptions

    runner = options.view_as(StandardOptions).runner
    return runner is None or str(runner).split(".")[-1].lower() in ("direct", "directrunner")


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


def _micro_batches(cfg, options, started: float) -> dict:
    """Streaming on the local DirectRunner, as a loop of small batch runs.

    Offline, the DirectRunner runs a streaming pipeline stage by stage (its Prism
    runner would need a download), so windows would only be written at the end.
    Locally, new settled files are therefore processed every poll by the batch
    graph with the same event-time windows and per-window writer; each batch's
    files are moved into place once its accounting holds.
    """
    import dataclasses

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from pipeline.graph import build_graph
    from pipeline.io.commit import staging_dir
    from pipeline.io.read_articles import expand_input
    from pipeline.metrics import summarise, write_summary
    from pipeline.streaming import STOP
    from schemas.arrow import TABLES

    batch_options = PipelineOptions.from_dictionary(options.get_all_options(drop_default=True))
    batch_options.view_as(StandardOptions).streaming = False
    deadline = time.time() + cfg.max_seconds if cfg.max_seconds else float("inf")
    seen: set[str] = set()
    total, seq = None, 0
    with Progress(0 if cfg.quiet else cfg.progress_seconds):
        while True:
            stopping = STOP.is_set() or time.time() >= deadline
            try:
                present = expand_input(cfg.input)
            except ConfigError:
                present = []  # nothing to read yet
            now = time.time()
            batch = [f for f in present if f.path not in seen and now - os.path.getmtime(f.path) >= cfg.settle_seconds]
            if batch:
                seq += 1
                seen |= {f.path for f in batch}
                stage = staging_dir(cfg.output, f"stream-{os.getpid()}-{seq:05d}")
                shutil.rmtree(stage, ignore_errors=True)
                batch_cfg = dataclasses.replace(cfg, batch_tag=f"{os.getpid()}-{seq:05d}")
                pipeline = beam.Pipeline(options=batch_options)
                build_graph(pipeline, batch_cfg, batch, stage)
                result = pipeline.run()
                result.wait_until_finish()
                part = summarise(stage, _counts(result, lambda: batch, cfg.max_article_chars), 0.0, batch)
                _require_accounted(part, f"micro-batch {seq} of the streaming run was not committed")
                for table in TABLES:  # each file is complete: moving it in is atomic
                    src = os.path.join(stage, table)
                    for name in sorted(os.listdir(src)) if os.path.isdir(src) else []:
                        if name.endswith(".parquet") and not name.startswith("."):
                            os.replace(os.path.join(src, name), os.path.join(cfg.output, table, name))
                shutil.rmtree(stage, ignore_errors=True)
                total = _merge(total, part)
            if stopping:
                break
            STOP.wait(cfg.poll_seconds)
    summary = total or summarise(cfg.output, {}, 0.0, [])
    seconds = time.perf_counter() - started
    summary.update(input_files=len(summary["by_file"]), seconds=round(seconds, 2),
                   documents_per_s=round(summary["documents_written"] / seconds, 2) if seconds > 0 else None,
                   run_id=None, mode=cfg.mode, partition_by=None, streaming=True, micro_batches=seq)
    write_summary(cfg.output, summary)
    return summary


def _print_summary(summary: dict, stream=sys.stdout) -> None:
    print("newsevents run summary", file=stream)
    for key, value in summary.items():
        if key == "by_file":
            accounted = sum(1 for c in value.values() if c["accounted"])
            print(f"  {'files_accounted':24s} {accounted}/{len(value)} (per file: _SUMMARY.json)", file=stream)
            continue
        print(f"  {key:24s} {json.dumps(value) if isinstance(value, (dict, list)) else value}", file=stream)


class _DropBeamNoise(logging.Filter):
    # apache_beam logs these on the root logger, many times a run: "apitools not
    # found" at import when the GCP extras are absent (irrelevant off Dataflow), and
    # RunInference's note that it cannot read memory usage on this platform.
    _NOISE = ("apitools not found", "Resource module is not available")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self._NOISE)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropBeamNoise())
    parser = argparse.ArgumentParser(prog="newsevents", description="News articles in, typed event tables out.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the pipeline (all other flags go to it; see 'newsevents run --help')",
                   add_help=False)
    report = sub.add_parser("report", help="write OUTPUT/report.html with plots of a run")
    report.add_argument("output", help="the --output directory of a run")
    args, rest = parser.parse_known_args(argv)
    if args.command == "report":
        from pipeline.report import write_report

        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        try:
            print(write_report(args.output))
        except NewsEventsError as exc:
            print(f"newsevents: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "run":
        if "-h" in rest or "--help" in rest:
            from pipeline.options import NewsEventsOptions

            helper = argparse.ArgumentParser(prog="newsevents run", epilog="Any Beam pipeline option is accepted too.")
            NewsEventsOptions._add_argparse_args(helper)
            helper.print_help()
            return 0
        try:
            summary = run(rest)
        except KeyboardInterrupt:
            print("newsevents: interrupted; the next run into the same --output finishes or discards what this "
                  "one staged.", file=sys.stderr)
            return 130
        except (ConfigError, ModelLoadError) as exc:
            print(f"newsevents: error: {exc}", file=sys.stderr)
            return 2
        except NewsEventsError as exc:
            print(f"newsevents: error: {exc}", file=sys.stderr)
            return 1
        _print_summary(summary)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
