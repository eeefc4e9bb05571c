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

from newsevents.pipeline.io.lock import OutputLock
from newsevents.pipeline.progress import Progress
from newsevents.schemas.errors import AccountingError, ConfigError, ModelLoadError, NewsEventsError

__all__ = ["main", "run"]

_LOG = logging.getLogger(__name__)


def _read_counts(result) -> dict[str, int] | None:
    """Records read per input file, from the reader's Beam counters (None if the runner reports none)."""
    from apache_beam.metrics.metric import MetricsFilter
    from newsevents.pipeline.io.read_articles import READ_NAMESPACE

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
        from newsevents.pipeline.io.read_articles import count_records

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
    from newsevents.models.registry import resolve
    from newsevents.pipeline import __version__

    return {"version": __version__, "ner_model": resolve(cfg.ner_model)[1], "event_model": resolve(cfg.event_model)[1],
            "max_article_chars": cfg.max_article_chars, "max_words_per_chunk": cfg.max_words_per_chunk,
            "chunk_overlap": cfg.chunk_overlap, "precision": cfg.precision, "partition_by": cfg.partition_by}


def _check_hub_model(model: str) -> None:
    """One quick look that a hub id can be had (cached, or on a reachable hub), so workers never retry it.

    Asked once, without retries: huggingface_hub's own download retries for about
    25 s per file and logs each try, in every worker. A cached model on an
    unreachable hub is used offline (``HF_HUB_OFFLINE``, for this process and the
    workers it starts).

    Raises:
        ModelLoadError: one line saying what was tried.
    """
    from huggingface_hub import HfApi, constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError
    from newsevents.models.registry import REGISTRY

    tried = f"Model {model!r} is not a registry name ({', '.join(REGISTRY)}) or a local directory, and"
    try:
        cached = isinstance(try_to_load_from_cache(model, "config.json"), str)
    except HFValidationError:
        raise ModelLoadError(f"{tried} not a Hugging Face id ('name' or 'namespace/name'); check its spelling."
                             ) from None
    if constants.HF_HUB_OFFLINE:
        if cached:
            return
        raise ModelLoadError(f"{tried} HF_HUB_OFFLINE is set but the hub model is not in the local cache; download "
                             f"it first ('hf download {model}') or give a model directory.")
    try:
        HfApi().model_info(model, timeout=10)
    except RepositoryNotFoundError:
        raise ModelLoadError(f"{tried} {constants.ENDPOINT} has no such model (a private or gated one needs "
                             "'hf auth login'); check its spelling.") from None
    except Exception as exc:  # noqa: BLE001 - the transport's errors (httpx, OSError, 5xx) all mean "cannot reach"
        if not cached:
            raise ModelLoadError(f"{tried} the hub ({constants.ENDPOINT}) cannot be reached to fetch it "
                                 f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); give a local model "
                                 "directory, or run where the hub is reachable.") from None
        _LOG.warning("the hub (%s) cannot be reached; using the cached copy of %s", constants.ENDPOINT, model)
        os.environ["HF_HUB_OFFLINE"] = "1"  # worker processes started from here
        constants.HF_HUB_OFFLINE = True  # this process, whose huggingface_hub read the variable at import


def _check_models(cfg) -> None:
    """Each model argument resolves: a registry name's files are installed, a hub id can be had."""
    from newsevents.models.registry import REGISTRY, resolve

    for arg in dict.fromkeys((cfg.ner_model, cfg.event_model)):
        path, _ = resolve(arg)
        if os.path.isdir(path):
            continue  # its files are checked by the handlers' validate() and preflight()
        if arg in REGISTRY:
            raise ModelLoadError(f"The files of the registry model {arg!r} are missing ({path}); reinstall newsevents.")
        if path.startswith(("/", ".", "~")) or os.path.exists(path) or path.count("/") > 1:
            continue  # a path: validate() says it is not a model directory
        _check_hub_model(arg)


def _writable_output(output: str) -> None:
    """Create ``output`` and write a file in it, or raise ConfigError saying why not."""
    import tempfile

    try:
        os.makedirs(output, exist_ok=True)
        with tempfile.TemporaryFile(dir=output, prefix="_probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--output {output} cannot be written: {exc.strerror or exc}; choose a directory this user "
                          "can create and write.") from None


def _check_batch_output(cfg) -> None:
    """Finish a crashed commit, then refuse a mode or layout that cannot work, before the models load."""
    from newsevents.pipeline.io.commit import check_layout, check_mode, recover

    if "://" in cfg.output:
        return
    recover(cfg.output)  # finish a crashed run's commit, drop attempts that never reached one
    check_mode(cfg.output, cfg.mode)
    check_layout(cfg.output, cfg.mode, cfg.partition_by)


@contextlib.contextmanager
def _claim_output(cfg, handlers, prepare=None):
    """Hold the output lock for the whole run, then check the output and the models' files, before anything is written.

    The lock comes first so that a second run into a busy directory stops at once,
    without loading models; ``prepare`` (recovery, mode and layout checks) runs next,
    then the models are loaded once. Object-store outputs are not locked: they have no
    ``flock`` (and no staged commit either; README "Output modes").
    If the run fails, however it fails, its staged attempts that never reached a commit
    journal are deleted before the lock is released: a failed run leaves no ``_staging/``.
    """
    from newsevents.pipeline.io.commit import discard_attempts

    local = "://" not in cfg.output
    if local:
        _writable_output(cfg.output)
    with OutputLock(cfg.output) if local else contextlib.nullcontext():
        # The lock is released on return, on errors and on Ctrl-C; the kernel drops it if the process is killed.
        try:
            if prepare is not None:
                prepare()
            for handler in handlers:
                handler.preflight()
            yield
        except BaseException:
            if local:
                discard_attempts(cfg.output)
            raise


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
    from newsevents.pipeline.graph import event_handler, ner_handler
    from newsevents.pipeline.io.read_articles import expand_input
    from newsevents.pipeline.options import RunConfig, beam_args

    options = PipelineOptions(argv)
    cfg = RunConfig.from_options(options)
    # From here on Beam gets only its own options; ours travel as cfg (see beam_args).
    argv = beam_args(argv)
    options = PipelineOptions(argv)
    for name, value in (("--max-words-per-chunk", cfg.max_words_per_chunk), ("--max-article-chars", cfg.max_article_chars)):
        if value < 1:
            raise ConfigError(f"{name} must be positive, got {value}.")
    if cfg.chunk_overlap >= cfg.max_words_per_chunk:
        raise ConfigError("--chunk-overlap must be smaller than --max-words-per-chunk.")
    _check_models(cfg)
    handlers = (ner_handler(cfg), event_handler(cfg))
    for handler in handlers:
        handler.validate()
    if cfg.streaming:
        return _run_streaming(cfg, options, handlers, test_pipeline)
    files = expand_input(cfg.input)
    if "://" in cfg.output and (cfg.mode != "overwrite" or cfg.partition_by):
        raise ConfigError("--mode append|fail-if-exists and --partition-by need a local --output directory.")
    with _claim_output(cfg, handlers, prepare=lambda: _check_batch_output(cfg)):
        return _run_batch(cfg, argv, files, test_pipeline)


def _run_batch(cfg, argv, files, test_pipeline=None) -> dict:
    """A batch run, inside the output lock and after ``_check_batch_output``: stage, run, account, commit."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsevents.pipeline.graph import build_graph
    from newsevents.pipeline.io.commit import commit, compute_run_id, document_files, staging_dir
    from newsevents.pipeline.metrics import summarise, write_summary
    from newsevents.pipeline.runners import runner_argv

    local = "://" not in cfg.output
    in_output: list[str] = []
    if local:  # recovered, and its mode and layout checked, by _check_batch_output
        run_id = compute_run_id([f.path for f in files], _settings(cfg))
        stage = staging_dir(cfg.output, run_id)
        shutil.rmtree(stage, ignore_errors=True)
        # An append does not write again what earlier runs wrote. This job's own earlier files (same
        # run id: same inputs and settings) are left out: its commit replaces them, so appending the
        # same input twice changes nothing, dead letters included.
        if cfg.mode == "append":
            in_output = document_files(cfg.output, exclude_run=run_id)
    else:
        run_id, stage = None, cfg.output
    started = time.perf_counter()
    # Progress first: worker processes of a local Dask cluster then inherit its channel.
    with Progress(0 if cfg.quiet else cfg.progress_seconds), \
            runner_argv(list(argv or []), cfg.dask_address, cfg.dask_workers) as beam_argv:
        pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=PipelineOptions(beam_argv))
        build_graph(pipeline, cfg, files, stage, in_output)
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
    from newsevents.pipeline.io.read_articles import expand_input, split_location
    from newsevents.pipeline.metrics import count_rows

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
    from newsevents.pipeline.graph import build_graph
    from newsevents.pipeline.io.commit import check_mode, recover
    from newsevents.pipeline.io.ledger import LEDGER_DIR, Ledger
    from newsevents.pipeline.metrics import SUMMARY_FILE, summarise, write_summary
    from newsevents.pipeline.streaming import STOP, stop_on_signals
    from newsevents.schemas.arrow import TABLES

    recover(cfg.output)  # a micro-batch killed after its journal is finished, one killed before it dropped
    ledger = Ledger.load(cfg.output)
    local = test_pipeline is None and _is_local_direct(options)
    if ledger.found and not local:
        raise ConfigError(
            f"{cfg.output} holds the ledger of a local streaming job ({LEDGER_DIR}/), which a streaming runner's "
            "graph does not keep: it would read every watched file again. Resume it on the local runner, or "
            "choose another --output.")
    check_mode(cfg.output, cfg.mode)
    # An output with a ledger is this job's, restarted: resumed in any mode (README "Streaming").
    if cfg.mode == "overwrite" and not ledger.found:
        for name in (*TABLES, SUMMARY_FILE):
            path = os.path.join(cfg.output, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.path.exists(path) and os.remove(path)
    for name in TABLES:  # readers can open every table from the start, empty until a window closes
        os.makedirs(os.path.join(cfg.output, name), exist_ok=True)
    STOP.clear()
    if threading.current_thread() is threading.main_thread():
        stop_on_signals()
    started = time.perf_counter()
    if local:
        return _micro_batches(cfg, options, started, ledger)
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


def _resume(cfg, ledger) -> dict:
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


def _micro_batches(cfg, options, started: float, ledger) -> dict:
    """Streaming on the local DirectRunner, as a loop of small batch runs.

    Offline, the DirectRunner runs a streaming pipeline stage by stage (its Prism
    runner would need a download), so windows would only be written at the end.
    Locally, new settled files are therefore processed every poll by the batch
    graph with the same event-time windows and per-window writer; once a batch's
    accounting holds, its files and its ledger entry are committed by one journal
    (``pipeline/io/ledger.py``). A restarted job therefore keeps the windows
    written before and reads only the files they do not hold, or that changed.
    """
    import dataclasses
    import tempfile

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from newsevents.pipeline.graph import build_graph
    from newsevents.pipeline.io.commit import staging_dir
    from newsevents.pipeline.io.ledger import Verdict
    from newsevents.pipeline.io.read_articles import expand_input
    from newsevents.pipeline.metrics import summarise, write_summary
    from newsevents.pipeline.streaming import STOP
    from newsevents.schemas.arrow import TABLES

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
            try:
                present = expand_input(cfg.input)
            except ConfigError:
                present = []  # nothing to read yet
            now = time.time()
            batch, states = [], {}
            for f in present:
                try:
                    if now - os.path.getmtime(f.path) < cfg.settle_seconds:
                        continue
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
                seq = ledger.next_batch
                stage = staging_dir(cfg.output, f"stream-{seq:08d}")
                shutil.rmtree(stage, ignore_errors=True)
                # The batch number, never reused in this output, keeps a restart's files from replacing earlier ones.
                batch_cfg = dataclasses.replace(cfg, batch_tag=f"{seq:05d}")
                pipeline = beam.Pipeline(options=batch_options)
                build_graph(pipeline, batch_cfg, batch, stage)
                result = pipeline.run()
                result.wait_until_finish()
                part = summarise(stage, _counts(result, lambda: batch, cfg.max_article_chars), 0.0, batch)
                _require_accounted(part, f"micro-batch {seq} of the streaming run was not committed")
                windows = [os.path.join(table, name) for table in TABLES if os.path.isdir(os.path.join(stage, table))
                           for name in sorted(os.listdir(os.path.join(stage, table)))
                           if name.endswith(".parquet") and not name.startswith(".")]
                counts = {f.relative: {k: part["by_file"][f.path][k] for k in ("read", "documents", "dead_letters")}
                          for f in batch}
                ledger.commit(stage, seq, {f.relative: (f.path, states[f.relative], counts[f.relative])
                                           for f in batch}, windows, cfg.input)
                mine |= {f.relative for f in batch}
                batches += 1
                total = _merge(total, part)
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


def _print_summary(summary: dict, stream=None) -> None:
    stream = stream or sys.stdout  # looked up per call: a default bound at import misses redirection
    print("newsevents run summary", file=stream)
    for key, value in summary.items():
        if key == "by_file":
            accounted = sum(1 for c in value.values() if c["accounted"])
            print(f"  {'files_accounted':24s} {accounted}/{len(value)} (per file: _SUMMARY.json)", file=stream)
            continue
        print(f"  {key:24s} {json.dumps(value) if isinstance(value, (dict, list)) else value}", file=stream)


class _DropBeamNoise(logging.Filter):
    # apache_beam logs RunInference's note that it cannot read memory usage on this
    # platform on the root logger, many times a run. (Its "apitools not found" at
    # import is dropped where it is logged: models/__init__.py.)
    _NOISE = ("Resource module is not available",)

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
    report.add_argument("--single-file", action="store_true",
                        help="embed the plots in report.html (no _report/ folder), so the page can be mailed alone")
    args, rest = parser.parse_known_args(argv)
    if args.command == "report":
        from newsevents.pipeline.report import write_report

        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        try:
            print(write_report(args.output, single_file=args.single_file))
        except NewsEventsError as exc:
            print(f"newsevents: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "run":
        if "-h" in rest or "--help" in rest:
            from newsevents.pipeline.options import help_parser

            help_parser().print_help()
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
