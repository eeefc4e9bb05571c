"""Evaluate the project's models on held-out data.

    python -m models.evaluate ner --conll FILE [--model NAME|PATH|HUB_ID] [--device cpu] [--precision int8]
    python -m models.evaluate events --gold FILE.jsonl [--event-model ...] [--ner-model ...] [--precision int8]

Runs the production NER handler (the same pre-processing, batching and decoding
as the pipeline) over the file's gold words and prints, as its last line, one
JSON object: ``{"precision", "recall", "f1", "per_type", "sentences_per_s", ...}``
with exact-span micro scores under conlleval semantics.

The ``events`` task runs the real pipeline stages (cleaning, sentence chunking,
the NER handler, the event handler) on each gold sentence's text and prints
``{"type_precision", "type_recall", "type_f1", "source_f1", "target_f1", ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from models.base import Precision
from models.conll import read_conll, score_spans, tags_to_spans
from models.event_data import GoldEvent, read_gold
from models.event_scoring import score_events
from models.events import EventModelHandler
from models.ner import NerModelHandler
from models.registry import DEFAULT_EVENTS, DEFAULT_NER
from schemas.records import Chunk

__all__ = ["evaluate_events", "evaluate_ner", "main"]

def _chunk(index: int, words: tuple[str, ...]) -> Chunk:
    text = " ".join(words)
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    return Chunk(f"s{index}", index, 0, 0, len(text), words, tuple(spans), 0, len(text) + 1, text)


def _windows(items: list, handler):
    # The windows RunInference hands a handler (its BatchElements size); the handler sorts and sub-batches each.
    size = handler.batch_elements_kwargs()["max_batch_size"]
    for b in range(0, len(items), size):
        yield items[b : b + size]


def evaluate_ner(conll: str, model: str = DEFAULT_NER, device: str = "cpu", batch_size: int = 16,
                 precision: str = "fp32") -> dict:
    """Score a token classifier on a CoNLL file; returns the JSON-ready dict."""
    data = read_conll(conll)
    handler = NerModelHandler(model, device=device, batch_size=batch_size, max_length=512, precision=precision)
    loaded = handler.load_model()
    chunks = [_chunk(i, s.words) for i, s in enumerate(data)]
    predicted: list = [None] * len(chunks)
    started = time.perf_counter()
    for batch in _windows(chunks, handler):
        for result in handler.run_inference(batch, loaded):
            chunk = result.example
            start_word = {s: i for i, (s, _) in enumerate(chunk.word_spans)}
            end_word = {e: i for i, (_, e) in enumerate(chunk.word_spans)}
            predicted[chunk.sentence_index] = [
                (start_word[m.char_start], end_word[m.char_end] + 1, m.label) for m in result.inference
            ]
    seconds = time.perf_counter() - started
    scores = score_spans([tags_to_spans(s.tags) for s in data], predicted)
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
        "per_type": scores.per_type,
        "sentences_per_s": round(len(data) / seconds, 1),
        "sentences": len(data),
        "model": handler.model_name,
        "device": loaded.device,
        "precision_mode": precision,
    }


def evaluate_events(gold_path: str, event_model: str = DEFAULT_EVENTS, ner_model: str = DEFAULT_NER,
                    device: str = "cpu", batch_size: int = 16, precision: str = "fp32") -> dict:
    """Score the event stage on gold sentences, running the pipeline's own stages."""
    from pipeline.transforms.clean_text import clean_text, looks_like_html
    from pipeline.transforms.sentences import make_chunks

    gold = read_gold(gold_path)
    ner = NerModelHandler(ner_model, device=device, batch_size=batch_size, precision=precision)
    events = EventModelHandler(event_model, device=device, batch_size=batch_size, precision=precision)
    ner_loaded, ev_loaded = ner.load_model(), events.load_model()
    # Each gold line is one sentence, coded on its own: every chunk of it counts.
    chunks = []
    for i, s in enumerate(gold):
        found, _ = make_chunks(f"g{i}", s.text, clean_text(s.text, looks_like_html(s.text)))
        chunks += [(i, c) for c in found]
    predicted: list[list[GoldEvent]] = [[] for _ in gold]
    started = time.perf_counter()
    for batch in _windows(chunks, ner):
        ner_results = list(ner.run_inference([c for _, c in batch], ner_loaded))
        pairs = [(r.example, r.inference) for r in ner_results]
        for (i, _), result in zip(batch, events.run_inference(pairs, ev_loaded)):
            for e in result.inference:
                predicted[i].append(GoldEvent(e.event_type, e.trigger, e.source_text, e.target_text))
    seconds = time.perf_counter() - started
    scores = score_events([list(s.events) for s in gold], predicted)
    return {**scores, "sentences_per_s": round(len(gold) / seconds, 1), "event_model": events.model_name,
            "ner_model": ner.model_name, "device": ev_loaded.device, "precision_mode": precision}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    ner = sub.add_parser("ner", help="exact-span NER scores on a CoNLL file")
    ner.add_argument("--conll", required=True, help="CoNLL file: 2-4 columns, IOB1/IOB2, -DOCSTART- allowed")
    ner.add_argument("--model", default=DEFAULT_NER, help="registry name, local directory or hub id")
    ner.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ner.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    ner.add_argument("--precision", default="fp32", choices=[p.value for p in Precision])
    ev = sub.add_parser("events", help="event type and actor scores on a gold JSON Lines file")
    ev.add_argument("--gold", required=True, help="gold sentences in the telegram_events.jsonl format")
    ev.add_argument("--event-model", default=DEFAULT_EVENTS)
    ev.add_argument("--ner-model", default=DEFAULT_NER)
    ev.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ev.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    ev.add_argument("--precision", default="fp32", choices=[p.value for p in Precision])
    args = parser.parse_args(argv)
    try:
        if args.task == "ner":
            result = evaluate_ner(args.conll, args.model, args.device, args.batch_size, args.precision)
        else:
            result = evaluate_events(args.gold, args.event_model, args.ner_model, args.device, args.batch_size,
                                     args.precision)
    except (OSError, ValueError) as exc:
        print(f"evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
