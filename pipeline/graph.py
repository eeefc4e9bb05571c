"""The whole dataflow on one screen: read -> prepare -> entities -> assemble -> write.

Every stage's dead letters are flattened into one writer, so each input record
ends as exactly one document row or one dead-letter row.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference

from models.ner import NerModelHandler
from pipeline.errors import Reason, Stage
from pipeline.io.read_articles import InputFile, ReadArticles
from pipeline.io.write_tables import WriteTable
from pipeline.options import RunConfig
from pipeline.transforms.assemble import AssembleDocuments
from pipeline.transforms.prepare import PrepareArticles
from schemas.records import DeadLetter

__all__ = ["build_graph", "ner_handler"]


def ner_handler(cfg: RunConfig) -> NerModelHandler:
    """The NER stage's model handler, configured from the run's options."""
    return NerModelHandler(
        cfg.ner_model, device=cfg.device, batch_size=cfg.batch_size, trust_remote_code=cfg.trust_remote_code
    )


def _failed_chunks(failure):
    batch, _error = failure
    yield from batch


def _model_dead_letters(failure):
    batch, error = failure
    message = error[1] if isinstance(error, tuple) and len(error) > 1 else str(error)
    for chunk in batch:
        yield DeadLetter(Stage.NER.value, Reason.MODEL_FAILED.value,
                         f"The NER model failed on this chunk's batch: {message}",
                         chunk.doc_id, chunk.surface[:2000], f"sentence {chunk.sentence_index}")


def build_graph(p: beam.Pipeline, cfg: RunConfig, files: list[InputFile]) -> None:
    """Add the newsevents DAG to ``p``."""
    articles, read_dead = p | "Read" >> ReadArticles(files, cfg.max_article_chars)
    chunks, documents, prepare_dead = articles | "Prepare" >> PrepareArticles(
        cfg.max_words_per_chunk, cfg.chunk_overlap
    )

    ner, ner_errors = chunks | "Entities" >> RunInference(ner_handler(cfg)).with_exception_handling()
    mentions = ner | "Mentions" >> beam.FlatMap(lambda result: result.inference)
    failed = ner_errors.failed_inferences | "FailedChunks" >> beam.FlatMap(_failed_chunks)
    ner_dead = ner_errors.failed_inferences | "NerDeadLetters" >> beam.FlatMap(_model_dead_letters)

    docs = (documents, mentions, failed) | "Assemble" >> AssembleDocuments()
    dead = (read_dead, prepare_dead, ner_dead) | "AllDeadLetters" >> beam.Flatten()

    _ = docs | "WriteDocuments" >> WriteTable("documents", cfg.output)
    _ = mentions | "WriteEntities" >> WriteTable("entities", cfg.output)
    _ = dead | "WriteDeadLetters" >> WriteTable("dead_letters", cfg.output)
