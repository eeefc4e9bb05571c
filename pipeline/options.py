"""All command-line options of ``newsevents run``, in one place, and their checks.

``NewsEventsOptions`` is a Beam ``PipelineOptions`` subclass, so every standard
Beam option (``--runner``, ``--direct_num_workers``, ``--setup_file``, ...) passes
through untouched. Other modules get plain values via :class:`RunConfig`.

Before any work the options are checked here, once: :func:`reject_unknown` refuses
a flag neither newsevents nor Beam defines (Beam only logs and drops it), and
:meth:`RunConfig.validate` refuses missing, out-of-range or contradictory values and
a model argument that cannot be had. Both raise errors the CLI turns into exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.util
import logging
import os
from dataclasses import dataclass

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from newsevents.models.base import BATCH_SIZE, MAX_BATCH_TOKENS, Backend, Device, Precision
from newsevents.models.document import MAX_ARTICLE_CHARS
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, REGISTRY, resolve
from newsevents.models.sentences import CHUNK_OVERLAP, MAX_WORDS_PER_CHUNK
from newsevents.pipeline.io.file_source import is_watchable
from newsevents.pipeline.io.read_articles import is_remote
from newsevents.pipeline.runners import is_dask
from newsevents.schemas.errors import ConfigError, ModelLoadError

__all__ = ["NewsEventsOptions", "RunConfig", "beam_args", "check_hub_model", "help_parser", "reject_unknown"]

_LOG = logging.getLogger(__name__)


def _default_threads(options: PipelineOptions) -> int:
    # Each DirectRunner worker process runs its own torch; giving each all the
    # cores oversubscribes the machine and runs slower than one worker.
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode == "multi_processing" and (direct.direct_num_workers or 1) > 1:
        return max(1, (os.cpu_count() or 1) // direct.direct_num_workers)
    return 0


# int8 and --backend onnx are offered per model within issue 18's F1 budgets: a shipped model whose
# variant is over budget runs fp32, with one log line (models/variants.py).
_PRECISIONS = [p.value for p in Precision]


# What ``--help`` calls the groups, in its order (issue 15: "a CLI that explains itself").
_INPUT, _MODELS, _OUTPUT, _STREAMING, _RUNNERS = (
    "input", "models", "output", "streaming (with --streaming)", "runners (Beam options: any other is accepted too)")

# Ours but not required by argparse: Beam parses every PipelineOptions subclass for
# each options view, so a required flag would break every Beam step that reads one.
_REQUIRED = ("input", "output")


def _add_options(parser, beam_too: bool = False) -> None:
    """Add newsevents' options to ``parser`` in their ``--help`` groups; ``beam_too`` adds Beam's main ones.

    Beam's own options (``--streaming``, ``--runner``, ...) are parsed by Beam;
    they are added here only to the help parser, so that its groups show them
    with their defaults (taken from Beam's parser, so they cannot drift).
    """
    group = {title: parser.add_argument_group(title) for title in (_INPUT, _MODELS, _OUTPUT, _STREAMING, _RUNNERS)}
    add = lambda title, *args, **kwargs: group[title].add_argument(*args, **kwargs)  # noqa: E731

    add(_INPUT, "--input", help="a .jsonl/.txt file (.gz, .bz2, .zst too), a directory or a glob")
    add(_INPUT, "--max-article-chars", type=int, default=MAX_ARTICLE_CHARS,
        help="longer articles are dead-lettered (reason too_large)")
    add(_INPUT, "--max-words-per-chunk", type=int, default=MAX_WORDS_PER_CHUNK,
        help="sentences longer than this are cut into overlapping windows")
    add(_INPUT, "--chunk-overlap", type=int, default=CHUNK_OVERLAP, help="words shared by adjacent windows")

    add(_MODELS, "--ner-model", default=DEFAULT_NER,
        help="registry name, local directory or Hugging Face id of a token classifier")
    add(_MODELS, "--event-model", default=DEFAULT_EVENTS,
        help="registry name, local directory or Hugging Face id of a newsevents event model")
    add(_MODELS, "--device", default=Device.AUTO.value, choices=[d.value for d in Device],
        help="auto: a GPU when torch sees one")
    add(_MODELS, "--precision", default=Precision.FP32.value, choices=_PRECISIONS,
        help="int8: int8 weights, CPU only, for each model within its F1 budget (else it runs fp32 and the log "
             "says so); fp16/bf16: autocast, for a GPU (on a CPU fp16 is refused, bf16 warned about: no faster)")
    add(_MODELS, "--backend", default=Backend.TORCH.value, choices=[b.value for b in Backend],
        help="onnx: ONNX Runtime on the CPU, fp32 or int8 (pip install 'newsevents[onnx]'; each model's graph is "
             "exported from its shipped weights at first use and cached under ~/.cache/newsevents/onnx)")
    add(_MODELS, "--batch-size", type=int, default=BATCH_SIZE, help="most sentences in one forward pass")
    add(_MODELS, "--max-batch-tokens", type=int, default=MAX_BATCH_TOKENS,
        help="most padded sub-word tokens in one forward pass (raise it on a GPU)")
    add(_MODELS, "--threads", type=int, default=0,
        help="torch threads per worker process (0: the cores divided among the workers)")
    add(_MODELS, "--trust-remote-code", action="store_true",
        help="allow a hub model to run its own Python code")

    add(_OUTPUT, "--output", help="directory for the tables (an s3://, gs:// or az:// URL with --table-format delta)")
    add(_OUTPUT, "--mode", default="overwrite", choices=["overwrite", "append", "fail-if-exists"],
        help="what to do with tables already in --output (overwrite replaces only the partitions this run "
             "writes when --partition-by is set)")
    add(_OUTPUT, "--partition-by", choices=["published_date"],
        help="write documents, entities and events as Hive partitions TABLE/published_date=YYYY-MM-DD/")
    add(_OUTPUT, "--table-format", default="parquet", choices=["parquet", "delta"],
        help="parquet: Parquet files committed by a journal (a local --output); delta: Delta Lake tables "
             "(pip install 'newsevents[delta]'): atomic on object stores, concurrent runs allowed")
    add(_OUTPUT, "--progress-seconds", type=float, default=10.0,
        help="print at most one progress line on stderr this often, and the totals at the end (0: none)")
    add(_OUTPUT, "--quiet", action="store_true", help="print only the summary (no progress lines)")

    if beam_too:
        _add_beam_option(group[_STREAMING], "--streaming",
                         "watch --input (a directory or a glob) and write a file per window as they close")
    add(_STREAMING, "--window-seconds", type=int, default=60, help="event-time window of each output file")
    add(_STREAMING, "--max-seconds", type=float, default=None,
        help="stop watching after this long, flush and exit; without it, watch until SIGINT or SIGTERM")
    add(_STREAMING, "--allowed-lateness-seconds", type=int, default=86_400,
        help="articles published longer ago are windowed by arrival")
    add(_STREAMING, "--poll-seconds", type=float, default=1.0, help="how often to look for new files")
    add(_STREAMING, "--settle-seconds", type=float, default=1.0,
        help="read a file once it has not changed for this long")

    if beam_too:
        _add_beam_option(group[_RUNNERS], "--runner", "DirectRunner (this machine), dask, or any Beam runner",
                         shown_default="DirectRunner")
        _add_beam_option(group[_RUNNERS], "--direct_running_mode", "how the DirectRunner runs the steps")
        _add_beam_option(group[_RUNNERS], "--direct_num_workers", "DirectRunner worker threads or processes")
    add(_RUNNERS, "--dask-address", help="with --runner dask: the scheduler to use (host:port)")
    add(_RUNNERS, "--dask-workers", type=int, default=0,
        help="with --runner dask and no --dask-address: start a local cluster of N processes (0: two)")


def _add_beam_option(group, flag: str, help: str, shown_default: str | None = None) -> None:
    beam = argparse.ArgumentParser(add_help=False)
    StandardOptions._add_argparse_args(beam)  # noqa: SLF001 - Beam's own definitions, for their defaults
    DirectOptions._add_argparse_args(beam)  # noqa: SLF001
    action = next(a for a in beam._actions if flag in a.option_strings)
    kwargs = {"action": "store_true"} if isinstance(action, argparse._StoreTrueAction) else {
        "default": action.default if shown_default is None else shown_default, "choices": action.choices,
        "type": action.type}
    group.add_argument(flag, help=help, **kwargs)


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's default after its help: ``off`` for switches, ``required`` or ``not set`` for no value."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.dest in _REQUIRED:
            shown = "required"
        elif isinstance(action, argparse._StoreTrueAction):
            shown = "default: off"
        elif action.default is None:
            shown = "default: not set"
        else:
            shown = f"default: {action.default}"
        shown = shown.replace("%", "%%")  # argparse %-formats help strings
        return f"{text} ({shown})" if text else f"({shown})"


def help_parser() -> argparse.ArgumentParser:
    """The parser that prints ``newsevents run --help``: every option, grouped, each with its default."""
    parser = argparse.ArgumentParser(
        prog="newsevents run", formatter_class=_HelpFormatter,
        usage="newsevents run --input PATH --output DIR [options] [Beam options]",
        description="Read news articles, find their entities and events, and write them as Parquet tables.",
        epilog="Any other Beam pipeline option is passed to Beam (e.g. --setup_file for a cluster). "
               "README.md says what each output mode and a streaming restart do.")
    _add_options(parser, beam_too=True)
    return parser


class _OwnOptions(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(f"{message}; see 'newsevents run --help'.")


def beam_args(argv: list[str] | None) -> list[str]:
    """``argv`` without newsevents' own options: what Beam gets.

    Beam writes options it holds back out under their ``dest`` names
    (``--max_seconds=25.0``) for worker processes and each micro-batch, where they
    do not parse and print ``Unparseable argument`` warnings (issue 15); the steps
    get our values as plain :class:`RunConfig` fields, so Beam never needs them.
    """
    own = _OwnOptions(allow_abbrev=False, add_help=False)
    _add_options(own)
    return own.parse_known_args(list(argv or []))[1]


def reject_unknown(argv: list[str]) -> None:
    """Refuse an argument that neither newsevents nor Beam defines, naming the closest option.

    Beam parses every registered ``PipelineOptions`` subclass's flags, ours among
    them, and only logs "Discarding unparseable args" for the rest: a typo such as
    ``--partiton-by published_date`` would run to the end without partitions. The
    same union of flags is checked here, before any work (the DaskRunner's options
    are registered once its module is imported, so it is imported first).

    Raises:
        ConfigError: with a "did you mean" for each misspelt flag.
    """
    if is_dask(argv):
        with contextlib.suppress(ImportError):  # without the extra, runners.runner_argv says how to install it
            import apache_beam.runners.dask.dask_runner  # noqa: F401
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    seen = set()
    for cls in PipelineOptions.__subclasses__():  # as PipelineOptions.get_all_options collects them
        if str(cls) not in seen:
            seen.add(str(cls))
            cls._add_argparse_args(parser)  # noqa: SLF001 - Beam's own registry of option classes
    unknown = parser.parse_known_args(argv)[1]
    if not unknown:
        return
    known = [flag for action in parser._actions for flag in action.option_strings]  # noqa: SLF001
    flags = [arg for arg in unknown if arg.startswith("-")]
    if not flags:  # values with no flag before them
        raise ConfigError(f"unrecognized arguments: {' '.join(unknown)}; see 'newsevents run --help'.")
    said = []
    for flag in flags:
        name = flag.split("=", 1)[0]
        close = difflib.get_close_matches(name, known, n=1)
        said.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise ConfigError(f"unrecognized option{'s' if len(said) > 1 else ''} {', '.join(said)}; neither newsevents "
                      "nor Beam knows it; see 'newsevents run --help'.")


class NewsEventsOptions(PipelineOptions):
    """Options of the newsevents pipeline."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        _add_options(parser)


@dataclass(frozen=True)
class RunConfig:
    """Plain values the graph needs, taken from the options once."""

    input: str
    output: str
    ner_model: str = DEFAULT_NER
    event_model: str = DEFAULT_EVENTS
    batch_size: int = BATCH_SIZE
    max_batch_tokens: int = MAX_BATCH_TOKENS
    device: str = Device.AUTO.value
    precision: str = Precision.FP32.value
    backend: str = Backend.TORCH.value
    threads: int = 0
    max_article_chars: int = MAX_ARTICLE_CHARS
    max_words_per_chunk: int = MAX_WORDS_PER_CHUNK
    chunk_overlap: int = CHUNK_OVERLAP
    trust_remote_code: bool = False
    mode: str = "overwrite"
    partition_by: str | None = None
    table_format: str = "parquet"
    streaming: bool = False
    window_seconds: int = 60
    max_seconds: float | None = None
    allowed_lateness_seconds: int = 86_400
    poll_seconds: float = 1.0
    settle_seconds: float = 1.0
    dask_address: str | None = None
    dask_workers: int = 0
    progress_seconds: float = 10.0
    batch_tag: str | None = None  # set for each local micro-batch of a streaming run
    quiet: bool = False

    @classmethod
    def from_options(cls, options: PipelineOptions) -> "RunConfig":
        """The values of parsed options, not yet checked (:meth:`validate`)."""
        o = options.view_as(NewsEventsOptions)
        return cls(
            input=o.input,
            output=o.output,
            ner_model=o.ner_model,
            event_model=o.event_model,
            batch_size=o.batch_size,
            max_batch_tokens=o.max_batch_tokens,
            device=o.device,
            precision=o.precision,
            backend=o.backend,
            threads=o.threads or _default_threads(options),
            max_article_chars=o.max_article_chars,
            max_words_per_chunk=o.max_words_per_chunk,
            chunk_overlap=o.chunk_overlap,
            trust_remote_code=o.trust_remote_code,
            mode=o.mode,
            partition_by=o.partition_by,
            table_format=o.table_format,
            streaming=bool(options.view_as(StandardOptions).streaming),
            window_seconds=o.window_seconds,
            max_seconds=o.max_seconds,
            allowed_lateness_seconds=o.allowed_lateness_seconds,
            poll_seconds=o.poll_seconds,
            settle_seconds=o.settle_seconds,
            dask_address=o.dask_address,
            dask_workers=o.dask_workers,
            progress_seconds=o.progress_seconds,
            quiet=o.quiet,
        )

    def validate(self) -> "RunConfig":
        """Check the options as a whole, before any work, and return them.

        Cheap checks first, then the models: a registry model's files are installed,
        a hub id can be had (:func:`check_hub_model`). A model directory's files are
        checked by the handlers' ``validate()``, the output directory by the drivers
        once they hold its lock.

        Raises:
            ConfigError: a missing, out-of-range or contradictory option.
            ModelLoadError: a model argument that cannot be had.
        """
        for flag, value in (("--input", self.input), ("--output", self.output)):
            if not value:
                raise ConfigError(f"{flag} is required; see 'newsevents run --help'.")
        for name, value in (("--max-words-per-chunk", self.max_words_per_chunk),
                            ("--max-article-chars", self.max_article_chars)):
            if value < 1:
                raise ConfigError(f"{name} must be positive, got {value}.")
        if self.chunk_overlap >= self.max_words_per_chunk:
            raise ConfigError("--chunk-overlap must be smaller than --max-words-per-chunk.")
        if self.table_format == "delta":
            _check_delta(self.streaming)
        if self.streaming:
            if is_remote(self.input) or is_remote(self.output):
                raise ConfigError("--streaming watches a local directory and writes a local --output.")
            if self.partition_by:
                raise ConfigError("--partition-by is for batch runs; streaming files are already split by window.")
            if not is_watchable(self.input):
                raise ConfigError(
                    f"--streaming needs --input to be a directory or a glob to watch, got {self.input!r}.")
            if self.window_seconds < 1:
                raise ConfigError(f"--window-seconds must be at least 1, got {self.window_seconds}.")
        elif is_remote(self.output) and self.table_format == "parquet" and (self.mode != "overwrite"
                                                                              or self.partition_by):
            raise ConfigError("--mode append|fail-if-exists and --partition-by need a local --output directory, "
                              "or --table-format delta.")
        _check_models(self.ner_model, self.event_model)
        return self


def _check_delta(streaming: bool) -> None:
    """``--table-format delta`` is for batch runs, with the ``delta`` extra installed."""
    if streaming:
        # A window file per pane would be a Delta commit per pane: not built (issue 19); streaming writes Parquet.
        raise ConfigError("--table-format delta is for batch runs; a --streaming run writes Parquet window files "
                          "(--table-format parquet).")
    if importlib.util.find_spec("deltalake") is None:
        raise ConfigError("--table-format delta needs the deltalake package: pip install 'newsevents[delta]'.")


def _check_models(*models: str) -> None:
    """Each model argument resolves: a registry name's files are installed, a hub id can be had."""
    for arg in dict.fromkeys(models):
        path, _ = resolve(arg)
        if os.path.isdir(path):
            continue  # its files are checked by the handlers' validate() and preflight()
        if arg in REGISTRY:
            raise ModelLoadError(f"The files of the registry model {arg!r} are missing ({path}); reinstall newsevents.")
        if path.startswith(("/", ".", "~")) or os.path.exists(path) or path.count("/") > 1:
            continue  # a path: validate() says it is not a model directory
        check_hub_model(arg)


def check_hub_model(model: str) -> None:
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
