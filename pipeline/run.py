"""``newsevents`` command line and the ``run()`` entry point shared by tests and benchmarks.

    newsevents run --input samples/ --output out/ [--ner-model NAME|PATH|HUB_ID] [beam options]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time

from pipeline.errors import AccountingError, ConfigError, ModelLoadError, NewsEventsError

__all__ = ["main", "run"]


def _records_read(result) -> int | None:
    from apache_beam.metrics.metric import MetricsFilter

    try:
        counters = result.metrics().query(MetricsFilter().with_name("records_read"))["counters"]
    except Exception:  # noqa: BLE001 - some runners do not report metrics
        return None
    if not counters:
        return 0
    return sum((c.committed if c.committed is not None else c.attempted) or 0 for c in counters)


def _clear_output(output: str) -> None:
    # Overwrite: stale shards from an earlier run would otherwise be read as rows.
    from schemas.arrow import TABLES

    if "://" in output:
        return
    for name in (*TABLES, "_SUMMARY.json"):
        path = os.path.join(output, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    os.makedirs(output, exist_ok=True)


def run(argv: list[str] | None = None, test_pipeline=None) -> dict:
    """Run the pipeline and return its summary (also written to ``OUTPUT/_SUMMARY.json``).

    Args:
        argv: ``newsevents run`` arguments, Beam options included.
        test_pipeline: a ``TestPipeline`` to build on instead of a new pipeline.

    Raises:
        ConfigError: bad options or inputs.
        AccountingError: records read != documents written + record dead letters.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.graph import build_graph, event_handler, ner_handler
    from pipeline.io.read_articles import expand_input
    from pipeline.metrics import summarise
    from pipeline.options import RunConfig

    options = PipelineOptions(argv)
    cfg = RunConfig.from_options(options)
    for name, value in (("--max-words-per-chunk", cfg.max_words_per_chunk), ("--max-article-chars", cfg.max_article_chars)):
        if value < 1:
            raise ConfigError(f"{name} must be positive, got {value}.")
    if cfg.chunk_overlap >= cfg.max_words_per_chunk:
        raise ConfigError("--chunk-overlap must be smaller than --max-words-per-chunk.")
    files = expand_input(cfg.input)
    for handler in (ner_handler(cfg), event_handler(cfg)):
        handler.validate()
    _clear_output(cfg.output)
    started = time.perf_counter()
    pipeline = test_pipeline if test_pipeline is not None else beam.Pipeline(options=options)
    build_graph(pipeline, cfg, files)
    result = pipeline.run()
    result.wait_until_finish()
    summary = summarise(cfg.output, _records_read(result), time.perf_counter() - started, len(files))
    if not summary["accounted"]:
        raise AccountingError(
            f"Records read ({summary['records_read']}) != documents written ({summary['documents_written']}) "
            f"+ record dead letters ({summary['record_dead_letters']}); the output in {cfg.output} is incomplete. "
            "Please report this with the input that caused it."
        )
    return summary


def _print_summary(summary: dict, stream=sys.stdout) -> None:
    print("newsevents run summary", file=stream)
    for key, value in summary.items():
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
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        if "-h" in rest or "--help" in rest:
            from pipeline.options import NewsEventsOptions

            helper = argparse.ArgumentParser(prog="newsevents run", epilog="Any Beam pipeline option is accepted too.")
            NewsEventsOptions._add_argparse_args(helper)
            helper.print_help()
            return 0
        try:
            summary = run(rest)
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
