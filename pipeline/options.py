"""All command-line options of ``newsevents run``, in one place.

``NewsEventsOptions`` is a Beam ``PipelineOptions`` subclass, so every standard
Beam option (``--runner``, ``--direct_num_workers``, ``--setup_file``, ...) passes
through untouched. Other modules get plain values via :class:`RunConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from apache_beam.options.pipeline_options import PipelineOptions

from models.base import Device
from models.registry import DEFAULT_EVENTS, DEFAULT_NER
from pipeline.errors import ConfigError

__all__ = ["NewsEventsOptions", "RunConfig"]


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
        parser.add_argument("--batch-size", type=int, default=32, help="chunks per model batch")
        parser.add_argument("--device", default=Device.AUTO.value, choices=[d.value for d in Device])
        parser.add_argument("--max-article-chars", type=int, default=1_000_000,
                            help="longer articles are dead-lettered (reason too_large)")
        parser.add_argument("--max-words-per-chunk", type=int, default=120,
                            help="sentences longer than this are cut into overlapping windows")
        parser.add_argument("--chunk-overlap", type=int, default=24, help="words shared by adjacent windows")
        parser.add_argument("--trust-remote-code", action="store_true",
                            help="allow a hub model to run its own Python code (off by default)")
        parser.add_argument("--quiet", action="store_true", help="print only the summary")


@dataclass(frozen=True)
class RunConfig:
    """Plain values the graph needs, taken from the options once."""

    input: str
    output: str
    ner_model: str = DEFAULT_NER
    event_model: str = DEFAULT_EVENTS
    batch_size: int = 32
    device: str = Device.AUTO.value
    max_article_chars: int = 1_000_000
    max_words_per_chunk: int = 120
    chunk_overlap: int = 24
    trust_remote_code: bool = False
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
            device=o.device,
            max_article_chars=o.max_article_chars,
            max_words_per_chunk=o.max_words_per_chunk,
            chunk_overlap=o.chunk_overlap,
            trust_remote_code=o.trust_remote_code,
            quiet=o.quiet,
        )
