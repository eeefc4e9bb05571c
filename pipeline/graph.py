"""The whole dataflow on one screen: read -> dedup -> prepare -> entities -> events -> assemble -> write.

Every stage's dead letters are flattened into one writer, so each input record
ends as exactly one document row or one dead-letter row. The per-document stages
are guarded (issue 14): an unexpected exception on one document makes it a dead
letter (reason ``internal_error``) or, where its other parts are good, a
``partial`` document with a note, and never fails the job.

Where the runner departs from the Beam model (``pipeline/runners.py``: Beam's
DaskRunner drops what a DoFn emits in ``finish_bundle`` and mixes tagged outputs),
the model stages and the writers use their bundle-free, grouped twins, and every
writer is joined into one last step for a runner that computes only the last one.
"""

from __future__ import annotations

from typing import Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from newsevents.models.assembly import with_time
from newsevents.models.events import EventModelHandler
from newsevents.models.extract import model_dead_letters
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import resolve
from newsevents.pipeline import __version__
from newsevents.pipeline.io.read_articles import InputFile, ReadArticles
from newsevents.pipeline.io.write_tables import WriteTable
from newsevents.pipeline.options import RunConfig
from newsevents.pipeline.progress import Tally
from newsevents.pipeline.runners import RunnerCapabilities, capabilities_of
from newsevents.pipeline.streaming import EventTimeWindows, WatchArticles, WriteWindowedTable
from newsevents.pipeline.transforms.assemble import Assemble, KeepWritable
from newsevents.pipeline.transforms.batched_inference import BatchedInference
from newsevents.pipeline.transforms.dedup import Deduplicate, ReadOutputKeys
from newsevents.pipeline.transforms.prepare import PrepareArticles
from newsevents.schemas.errors import Stage
from newsevents.schemas.records import EntityMention

__all__ = ["build_graph", "event_handler", "ner_handler"]


def _handler_options(cfg: RunConfig) -> dict:
    return {"device": cfg.device, "batch_size": cfg.batch_size, "max_batch_tokens": cfg.max_batch_tokens,
            "precision": cfg.precision, "backend": cfg.backend, "threads": cfg.threads,
            "trust_remote_code": cfg.trust_remote_code}


def ner_handler(cfg: RunConfig) -> NerModelHandler:
    """The NER stage's model handler, configured from the run's options."""
    return NerModelHandler(cfg.ner_model, **_handler_options(cfg))


def event_handler(cfg: RunConfig) -> EventModelHandler:
    """The event stage's model handler, configured from the run's options."""
    return EventModelHandler(cfg.event_model, **_handler_options(cfg))


def _chunk_of(element):
    # NER inputs are chunks; event inputs are (chunk, mentions) pairs.
    return element[0] if isinstance(element, tuple) else element


def _failed_chunks(failure):
    batch, _error = failure
    for element in batch:
        yield _chunk_of(element)


def _model_dead_letters(stage: Stage):
    def to_dead_letters(failure):
        batch, error = failure
        message = error[1] if isinstance(error, tuple) and len(error) > 1 else str(error)
        return model_dead_letters(stage, [_chunk_of(element) for element in batch], message)

    return to_dead_letters


class _Inference(beam.PTransform):
    """A model stage: ``RunInference`` with exception handling, or its bundle-free twin.

    ``RunInference`` emits its last batch in ``finish_bundle`` (``BatchElements``) and
    its failures on a tagged output; where the runner drops either, the stage is
    ``BatchedInference`` (grouped by document, everything emitted from ``process()``).
    Returns ``(results, failures)``; a failure is ``(batch, error)`` either way.
    """

    def __init__(self, handler, runner: RunnerCapabilities) -> None:
        super().__init__()
        self._handler = handler
        self._bundle_free = runner.bundle_free

    def expand(self, elements):
        if self._bundle_free:
            return elements | "Batched" >> BatchedInference(self._handler, lambda x: _chunk_of(x).doc_id)
        results, errors = elements | "RunInference" >> RunInference(self._handler).with_exception_handling()
        return results, errors.failed_inferences


def build_graph(p: beam.Pipeline, cfg: RunConfig, files: list[InputFile], tables_dir: str | None = None,
                in_output: Sequence[str] = (), runner: RunnerCapabilities | None = None) -> None:
    """Add the newsevents DAG to ``p``; tables go under ``tables_dir`` (default ``cfg.output``).

    ``in_output`` lists the documents files already in the output that an append must
    not write again (``pipeline.io.commit.document_files``); a batch run's only.
    ``runner`` says what the runner can do (default: ``capabilities_of(p)``).
    """
    tables_dir = tables_dir or cfg.output
    runner = runner if runner is not None else capabilities_of(p)
    if cfg.streaming and cfg.batch_tag is None:
        read, read_dead = p | "Watch" >> WatchArticles(
            cfg.input, cfg.max_article_chars, cfg.window_seconds, cfg.allowed_lateness_seconds,
            cfg.poll_seconds, cfg.settle_seconds, cfg.max_seconds)
    elif cfg.streaming:  # one local micro-batch of a streaming run: these files, windowed the same way
        read, read_dead = (p | "Read" >> ReadArticles(files, cfg.max_article_chars)) | "Windows" >> EventTimeWindows(
            cfg.window_seconds, cfg.allowed_lateness_seconds)
    else:
        read, read_dead = p | "Read" >> ReadArticles(files, cfg.max_article_chars)
    earlier = p | "InOutput" >> ReadOutputKeys(in_output) if in_output else None
    articles, dedup_dead = read | "Deduplicate" >> Deduplicate(earlier)
    chunks, documents, prepare_dead = articles | "Prepare" >> PrepareArticles(
        cfg.max_words_per_chunk, cfg.chunk_overlap
    )

    ner, ner_failed = chunks | "Entities" >> _Inference(ner_handler(cfg), runner)
    mentions, unwritable_mentions = (
        ner
        | "Mentions" >> beam.FlatMap(lambda result: result.inference)
        | "WritableMentions" >> KeepWritable("entities", EntityMention)
    )

    with_mentions = ner | "PairWithMentions" >> beam.Map(lambda result: (result.example, result.inference))
    found, event_failed = with_mentions | "Events" >> _Inference(event_handler(cfg), runner)
    # Documents finish only after every sentence passed both models: count sentences for the progress lines.
    found = found | "TallySentences" >> beam.Map(Tally("sentences"))
    sentence_events = found | "SentenceEvents" >> beam.FlatMap(lambda r: with_time(r.example[0], r.inference))

    failed = (
        (ner_failed, event_failed)
        | "ModelFailures" >> beam.Flatten()
        | "FailedChunks" >> beam.FlatMap(_failed_chunks)
    )
    ner_dead = ner_failed | "NerDeadLetters" >> beam.FlatMap(_model_dead_letters(Stage.NER))
    event_dead = event_failed | "EventDeadLetters" >> beam.FlatMap(_model_dead_letters(Stage.EVENTS))

    docs, events, assemble_dead = (
        (documents, mentions, sentence_events, failed, unwritable_mentions)
        | "Assemble" >> Assemble(resolve(cfg.ner_model)[1], __version__)
    )

    def write(table: str):
        if cfg.streaming:
            return WriteWindowedTable(table, tables_dir, cfg.batch_tag)
        return WriteTable(table, tables_dir, runner)

    # A writer also returns the dead letters of rows it could not write (mentions and events were
    # checked before, so in practice only documents'); they join the others.
    docs_written, docs_dead = docs | "WriteDocuments" >> write("documents")
    mentions_written, mentions_dead = mentions | "WriteEntities" >> write("entities")
    events_written, events_dead = events | "WriteEvents" >> write("events")
    dead = (
        (read_dead, dedup_dead, prepare_dead, ner_dead, event_dead, assemble_dead, docs_dead, mentions_dead,
         events_dead)
        | "AllDeadLetters" >> beam.Flatten()
    )
    dead_written, _ = dead | "WriteDeadLetters" >> write("dead_letters")  # never refuses a row: none come back
    written = [docs_written, mentions_written, events_written, dead_written]
    if runner.computes_only_last_step:
        # Beam's DaskRunner runs only the last step's lineage: join every writer into one last step.
        _ = written | "AllWritten" >> beam.Flatten() | "Done" >> beam.combiners.Count.Globally()
