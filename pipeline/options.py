"""All command-line options of ``newsevents run``, in one place.

``NewsEventsOptions`` is a Beam ``PipelineOptions`` subclass, so every standard
Beam option (``--runner``, ``--direct_num_workers``, ``--setup_file``, ...) passes
through untouched. Other modules get plain values via :class:`RunConfig`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from models.base import Device, Precision
from models.registry import DEFAULT_EVENTS, DEFAULT_NER
from pipeline.errors import ConfigError

__all__ = ["NewsEventsOptions", "RunConfig"]


def _default_threads(options: PipelineOptions) -> int:
    # Each DirectRunner worker process runs its own torch; giving each all the
    # cores oversubscribes the machine and runs slower than one worker.
    from apache_beam.options.pipeline_options import DirectOptions

    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode == "multi_processing" and (direct.direct_num_workers or 1) > 1:
        return max(1, (os.cpu_count() or 1) // direct.direct_num_workers)
    return 0


# int8 is measured (benchmarks, evaluate) but not offered: it costs the event
# model 0.9 type-F1 points on dev, over the 0.5-point budget (see README "Quality").
_PRECISIONS = [p.value for p in Precision if p is not Precision.INT8 or os.environ.get("NEWSEVENTS_EXPERIMENTAL_INT8")]


class NewsEventsOptions(PipelineOptions):
    """Options of the newsevents pipeline."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--input", help="a .jsonl/.txt file, a directory or a glob")
        parser.add_argument("--output", help="directory for the Parquet tables")
        parser.add_argument("--ner-model", default=DEFAULT_NER,
                            help="registry name, local directory or Hugging Face id of a token classifier")
        parser.add_argument("--event-model", default=DEFAULT_EVENTS,
                            help="registry name, local directory or Hugging Face id of a newsevents event model")
        parser.add_argument("--batch-size", type=int, default=16, help="most sentences in one forward pass")
        parser.add_argument("--max-batch-tokens", type=int, default=4096,
                            help="most padded sub-word tokens in one forward pass (raise it on a GPU)")
        parser.add_argument("--device", default=Device.AUTO.value, choices=[d.value for d in Device])
        parser.add_argument("--precision", default=Precision.FP32.value, choices=_PRECISIONS,
                            help="fp16/bf16: autocast (fp16 on a GPU)")
        parser.add_argument("--threads", type=int, default=0,
                            help="torch threads per worker process (0: the cores divided among the workers)")
        parser.add_argument("--max-article-chars", type=int, default=1_000_000,
                            help="longer articles are dead-lettered (reason too_large)")
        parser.add_argument("--max-words-per-chunk", type=int, default=120,
                            help="sentences longer than this are cut into overlapping windows")
        parser.add_argument("--chunk-overlap", type=int, default=24, help="words shared by adjacent windows")
        parser.add_argument("--trust-remote-code", action="store_true",
                            help="allow a hub model to run its own Python code (off by default)")
        parser.add_argument("--mode", default="overwrite", choices=["overwrite", "append", "fail-if-exists"],
                            help="what to do with tables already in --output (overwrite replaces only the "
                                 "partitions this run writes when --partition-by is set)")
        parser.add_argument("--partition-by", choices=["published_date"],
                            help="write documents, entities and events as Hive partitions "
                                 "TABLE/published_date=YYYY-MM-DD/")
        parser.add_argument("--window-seconds", type=int, default=60,
                            help="with --streaming: event-time window of each output file")
        parser.add_argument("--max-seconds", type=float, default=None,
                            help="with --streaming: stop watching after this long, flush and exit")
        parser.add_argument("--allowed-lateness-seconds", type=int, default=86_400,
                            help="with --streaming: articles published longer ago are windowed by arrival")
        parser.add_argument("--poll-seconds", type=float, default=1.0, help="with --streaming: how often to look")
        parser.add_argument("--settle-seconds", type=float, default=1.0,
                            help="with --streaming: read a file once it has not changed for this long")
        parser.add_argument("--dask-address", help="with --runner dask: the scheduler to use (host:port)")
        parser.add_argument("--dask-workers", type=int, default=0,
                            help="with --runner dask and no --dask-address: start a local cluster of N processes")
        parser.add_argument("--progress-seconds", type=float, default=10.0,
                            help="print a progress line on stderr this often (0: never)")
        parser.add_argument("--quiet", action="store_true", help="print only the summary (no progress lines)")


@dataclass(frozen=True)
class RunConfig:
    """Plain values the graph needs, taken from the options once."""

    input: str
    output: str
    ner_model: str = DEFAULT_NER
    event_model: str = DEFAULT_EVENTS
    batch_size: int = 16
    max_batch_tokens: int = 4096
    device: str = Device.AUTO.value
    precision: str = Precision.FP32.value
    threads: int = 0
    max_article_chars: int = 1_000_000
    max_words_per_chunk: int = 120
    chunk_overlap: int = 24
    trust_remote_code: bool = False
    mode: str = "overwrite"
    partition_by: str | None = None
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
        o = options.view_as(NewsEventsOptions)
        for flag, value in (("--input", o.input), ("--output", o.output)):
            if not value:
                raise ConfigError(f"{flag} is required; see 'newsevents run --help'.")
        return cls(
            input=o.input,
            output=o.output,
            ner_model=o.ner_model,
            event_model=o.event_model,
            batch_size=o.batch_size,
            max_batch_tokens=o.max_batch_tokens,
            device=o.device,
            precision=o.precision,
            threads=o.threads or _default_threads(options),
            max_article_chars=o.max_article_chars,
            max_words_per_chunk=o.max_words_per_chunk,
            chunk_overlap=o.chunk_overlap,
            trust_remote_code=o.trust_remote_code,
            mode=o.mode,
            partition_by=o.partition_by,
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
