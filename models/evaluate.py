"""Evaluate the project's models on held-out data.

    python -m newsevents.models.evaluate ner --conll FILE [--model NAME|PATH|HUB_ID] [--device cpu] [--precision int8]
        [--backend torch|onnx]
    python -m newsevents.models.evaluate events --gold FILE.jsonl [--event-model ...] [--ner-model ...] [--precision int8]
        [--backend torch|onnx] [--ner-precision fp32] [--ner-backend torch]
    python -m newsevents.models.evaluate events --news models/data/events/news/dev.jsonl --corpus ../shared/data/events/news
    python -m newsevents.models.evaluate speed ner|events [--threads 2]

Runs the production NER handler (the same pre-processing, batching and decoding
as the pipeline) over the file's gold words and prints, as its last line, one
JSON object: ``{"precision", "recall", "f1", "per_type", "sentences_per_s", ...}``
with exact-span micro scores under conlleval semantics.

The ``events`` task runs the real pipeline stages (cleaning, sentence chunking,
the NER handler, the event handler) on each gold sentence's text and prints
``{"type_precision", "type_recall", "type_f1", "source_f1", "target_f1", ...}``.
``--backend``/``--precision`` set the event model's variant and, unless
``--ner-backend``/``--ner-precision`` are given, the NER model's too. Every variant
runs exactly as asked here (``models.variants`` decides what a run is offered).

The ``speed`` task times the forward passes of every CPU variant of one model
(torch fp32 and int8, ONNX Runtime fp32 and int8) over the same length-sorted
batches, interleaved round by round in one process so that a shared machine's load
falls on all of them alike, and prints each variant's median seconds and its speed
against torch fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from newsevents.models.base import Backend, Precision
from newsevents.models.conll import read_conll, score_spans, tags_to_spans
from newsevents.models.event_data import GoldEvent, read_gold
from newsevents.models.event_scoring import score_events, score_fields
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER
from newsevents.schemas.records import Chunk

__all__ = ["evaluate_events", "evaluate_ner", "evaluate_news", "main", "predict_articles", "predict_sentences",
           "time_variants"]

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
                 precision: str = "fp32", backend: str = "torch") -> dict:
    """Score a token classifier on a CoNLL file; returns the JSON-ready dict."""
    data = read_conll(conll)
    handler = NerModelHandler(model, device=device, batch_size=batch_size, max_length=512, precision=precision,
                              backend=backend)
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
        "backend": handler.variant.split()[0],
    }


def _handlers(event_model: str, ner_model: str, device: str, batch_size: int, precision: str,
              variants: dict | None) -> tuple[NerModelHandler, EventModelHandler]:
    # ``variants``: backend (both models), ner_backend, ner_precision (the NER model's own, when given).
    v = variants or {}
    backend = v.get("backend") or "torch"
    ner = NerModelHandler(ner_model, device=device, batch_size=batch_size,
                          precision=v.get("ner_precision") or precision, backend=v.get("ner_backend") or backend)
    events = EventModelHandler(event_model, device=device, batch_size=batch_size, precision=precision,
                               backend=backend)
    return ner, events


def _variant_fields(event_model: str, ner_model: str, precision: str, variants: dict | None) -> dict:
    # Read back from the handlers ``_handlers`` builds (cheap: nothing loads), so the JSON says what ran.
    ner, events = _handlers(event_model, ner_model, "cpu", 1, precision, variants)
    (backend, _), (ner_backend, ner_precision) = events.variant.split(), ner.variant.split()
    return {"backend": backend, "ner_backend": ner_backend, "ner_precision": ner_precision}


def predict_sentences(texts: list[str], event_model: str = DEFAULT_EVENTS, ner_model: str = DEFAULT_NER,
                      device: str = "cpu", batch_size: int = 16, precision: str = "fp32",
                      variants: dict | None = None) -> list[list[GoldEvent]]:
    """The events the pipeline's own stages find in each text, coded on its own.

    ``variants`` may hold ``backend`` (both models), ``ner_backend`` and ``ner_precision``
    (the NER model's, when it should differ from the event model's).
    """
    from newsevents.models.clean_text import clean_text, looks_like_html
    from newsevents.models.sentences import make_chunks

    ner, events = _handlers(event_model, ner_model, device, batch_size, precision, variants)
    ner_loaded, ev_loaded = ner.load_model(), events.load_model()
    # Each text is one sentence, coded on its own: every chunk of it counts.
    chunks = []
    for i, text in enumerate(texts):
        found, _ = make_chunks(f"g{i}", text, clean_text(text, looks_like_html(text)))
        chunks += [(i, c) for c in found]
    predicted: list[list[GoldEvent]] = [[] for _ in texts]
    for batch in _windows(chunks, ner):
        ner_results = list(ner.run_inference([c for _, c in batch], ner_loaded))
        pairs = [(r.example, r.inference) for r in ner_results]
        for (i, _), result in zip(batch, events.run_inference(pairs, ev_loaded)):
            for e in result.inference:
                predicted[i].append(GoldEvent(e.event_type, e.trigger, e.source_text, e.target_text))
    return predicted


def evaluate_events(gold_path: str, event_model: str = DEFAULT_EVENTS, ner_model: str = DEFAULT_NER,
                    device: str = "cpu", batch_size: int = 16, precision: str = "fp32",
                    variants: dict | None = None) -> dict:
    """Score the event stage on gold sentences, running the pipeline's own stages."""
    gold = read_gold(gold_path)
    started = time.perf_counter()
    predicted = predict_sentences([s.text for s in gold], event_model, ner_model, device, batch_size, precision,
                                  variants)
    seconds = time.perf_counter() - started
    scores = score_events([list(s.events) for s in gold], predicted)
    return {**scores, "sentences_per_s": round(len(gold) / seconds, 1), "event_model": event_model,
            "ner_model": ner_model, "device": device, "precision_mode": precision,
            **_variant_fields(event_model, ner_model, precision, variants)}


def predict_articles(articles: list, event_model: str = DEFAULT_EVENTS, ner_model: str = DEFAULT_NER,
                     device: str = "cpu", batch_size: int = 16, precision: str = "fp32",
                     all_modes: bool = False, variants: dict | None = None) -> dict[str, list]:
    """Each article's events through the pipeline's own path, unmerged: ``{doc_id: [EventRecord]}``.

    The Python API's core (``models.extract.ArticleExtractor``): cleaning, the pipeline's
    sentence split and chunking, NER, events, then assembly (place, time, actors)
    exactly as the ``Assemble`` stage does, except that identical events of different
    sentences are kept apart so each sentence is scored on its own. ``all_modes``
    reports a mode for every type (to measure them); ``variants`` as for :func:`predict_sentences`.
    """
    from newsevents.models.extract import ArticleExtractor

    ner, events = _handlers(event_model, ner_model, device, batch_size, precision, variants)
    extractor = ArticleExtractor(ner, events, merge=False)
    if all_modes:
        extractor.event_loaded.mode_types = frozenset(extractor.event_loaded.types)
    return {d.document.doc_id: d.events for d in extractor.extract(articles) if d.document is not None}


def _home(sentences, text: str, ev) -> int | None:
    # The gold sentence holding the event's trigger (else the one its chunk overlaps most).
    from newsevents.models.news_corpus import sentence_at

    at = text.find(ev.trigger, ev.char_start, ev.char_end) if ev.trigger else -1
    if at >= 0 and (k := sentence_at([(s.start, s.end) for s in sentences], at)) is not None:
        return k
    overlap = [min(ev.char_end, s.end) - max(ev.char_start, s.start) for s in sentences]
    best = max(range(len(sentences)), key=overlap.__getitem__, default=None)
    return best if best is not None and overlap[best] > 0 else None


def evaluate_news(gold_path: str, corpus_dir: str, event_model: str = DEFAULT_EVENTS, ner_model: str = DEFAULT_NER,
                  device: str = "cpu", batch_size: int = 16, precision: str = "fp32",
                  variants: dict | None = None) -> dict:
    """Score the pipeline on whole real articles annotated in the stand-off format (issue #12).

    Locations count only where the event's own sentence names them
    (``location_source == "sentence"``); ``location_f1_with_lead`` also counts the
    article-lead fallback. ``source_actor_f1``/``target_actor_f1`` score the
    canonical actor columns instead of the spans.
    """
    from newsevents.models.document import parse_published
    from newsevents.models.news_corpus import gold_sentences, load_articles, read_annotations
    from newsevents.schemas.records import Article

    lines = read_annotations(gold_path)
    raw = load_articles(corpus_dir, [line["doc_id"] for line in lines])
    articles = [Article(doc_id=d, text=a["text"], title=a.get("title"), url=a.get("url"), source=a.get("source"),
                        published=parse_published(a.get("published"))[0]) for d, a in raw.items()]
    started = time.perf_counter()
    predicted = predict_articles(articles, event_model, ner_model, device, batch_size, precision, all_modes=True,
                                 variants=variants)
    seconds = time.perf_counter() - started
    gold, pred, pred_lead, pred_actor = [], [], [], []
    for line in lines:
        sentences = list(gold_sentences(line, raw[line["doc_id"]]))
        here: list[list[GoldEvent]] = [[] for _ in sentences]
        lead: list[list[GoldEvent]] = [[] for _ in sentences]
        actor: list[list[GoldEvent]] = [[] for _ in sentences]
        for ev in predicted.get(line["doc_id"], []):
            k = _home(sentences, raw[line["doc_id"]]["text"], ev)
            if k is None:
                continue
            loc = ev.location if ev.location_source == "sentence" else None
            here[k].append(GoldEvent(ev.event_type, ev.trigger, ev.source_text, ev.target_text, loc, ev.time_text,
                                     ev.event_mode))
            lead[k].append(GoldEvent(ev.event_type, location=ev.location))
            actor[k].append(GoldEvent(ev.event_type, ev.trigger, ev.source_actor, ev.target_actor))
        gold += [list(s.events) for s in sentences]
        pred += here
        pred_lead += lead
        pred_actor += actor
    scores = {**score_events(gold, pred), **score_fields(gold, pred)}
    scores["location_f1_with_lead"] = score_fields(gold, pred_lead)["location_f1"]
    # The canonical actor columns an analyst groups by, scored against the same gold spans.
    by_actor = score_events(gold, pred_actor)
    scores["source_actor_f1"], scores["target_actor_f1"] = by_actor["source_f1"], by_actor["target_f1"]
    return {**scores, "articles": len(lines), "sentences_per_s": round(len(gold) / seconds, 1),
            "event_model": event_model, "ner_model": ner_model, "device": device, "precision_mode": precision,
            **_variant_fields(event_model, ner_model, precision, variants)}


#: The CPU variants ``speed`` times, as (backend, precision); the first is the reference.
SPEED_VARIANTS = (("torch", "fp32"), ("torch", "int8"), ("onnx", "fp32"), ("onnx", "int8"))


def _speed_rows(task: str, source: str | None) -> tuple[list, list | None]:
    """Rows (words) of the timed passes, and the role pass's prompts for the event model."""
    if task == "ner":
        return [list(s.words) for s in read_conll(source)], None
    from newsevents.models.event_data import sentence_words, type_prompt
    from newsevents.schemas.ontology import TYPE_NAMES

    words = [sentence_words(s.text)[0] for s in read_gold(source)]
    words = [w for w in words if w]
    # Both passes: each sentence plain (the type pass) and with one type's prompt (the role pass).
    return words + words, [None] * len(words) + [type_prompt(TYPE_NAMES[i % len(TYPE_NAMES)]) for i in range(len(words))]


def time_variants(task: str, source: str, model: str | None = None, threads: int = 2, rows_per_pass: int = 16,
                  rounds: int = 5, sample: int = 800) -> dict:
    """Seconds of every CPU variant's forward passes over the same batches, interleaved; see the module docs.

    Args:
        task: ``ner`` or ``events``.
        source: the sentences: a CoNLL file (``ner``) or gold sentences in JSON Lines (``events``).
        model: the model (default: the shipped one).
        threads: intra-op threads of every variant.
        rows_per_pass: rows per forward pass (the pipeline's default batch size).
        rounds: each round runs every variant once over all batches, in a rotated order.
        sample: rows taken evenly from the length-sorted source.
    """
    import statistics

    from newsevents.models.base import model_outputs
    from newsevents.models.encoding import encode_words

    cls, model = (NerModelHandler, model or DEFAULT_NER) if task == "ner" else (EventModelHandler,
                                                                                 model or DEFAULT_EVENTS)
    loaded = {v: cls(model, device="cpu", precision=v[1], backend=v[0], threads=threads).load_model()
              for v in SPEED_VARIANTS}
    ref = loaded[SPEED_VARIANTS[0]]
    rows, prompts = _speed_rows(task, source)
    order = sorted(range(len(rows)), key=lambda i: (prompts is not None and prompts[i] is not None, len(rows[i])))
    order = order[:: max(1, len(order) // sample)]
    features = getattr(ref, "with_word_features", True)
    batches = []
    for kind in (False, True):  # the plain rows' passes, then the role passes' (never mixed in one pass)
        rows_of_kind = [i for i in order if (prompts is not None and prompts[i] is not None) == kind]
        for b in range(0, len(rows_of_kind), rows_per_pass):
            group = rows_of_kind[b : b + rows_per_pass]
            asked = [prompts[i] for i in group] if kind else None
            batches.append(encode_words(ref.tokenizer, [rows[i] for i in group], 256, features, prompts=asked).tensors)
    seconds: dict = {v: [] for v in SPEED_VARIANTS}
    for r in range(rounds + 1):  # round 0 warms every variant up and is not counted
        for v in SPEED_VARIANTS[r % len(SPEED_VARIANTS):] + SPEED_VARIANTS[: r % len(SPEED_VARIANTS)]:
            started = time.perf_counter()
            for tensors in batches:
                model_outputs(loaded[v].model, tensors, "cpu", loaded[v].precision)
            if r:
                seconds[v].append(time.perf_counter() - started)
    median = {v: statistics.median(s) for v, s in seconds.items()}
    base = median[SPEED_VARIANTS[0]]
    return {"task": task, "model": model, "threads": threads, "passes": len(batches), "rows": len(order),
            "tokens": sum(int(t["input_ids"].numel()) for t in batches), "rounds": rounds,
            "variants": {f"{b} {p}": {"median_s": round(median[(b, p)], 3),
                                      "speed_vs_torch_fp32": round(base / median[(b, p)], 2),
                                      "rounds_s": [round(x, 3) for x in seconds[(b, p)]]}
                         for b, p in SPEED_VARIANTS}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsevents evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    ner = sub.add_parser("ner", help="exact-span NER scores on a CoNLL file")
    ner.add_argument("--conll", required=True, help="CoNLL file: 2-4 columns, IOB1/IOB2, -DOCSTART- allowed")
    ner.add_argument("--model", default=DEFAULT_NER, help="registry name, local directory or hub id")
    ner.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ner.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    ner.add_argument("--precision", default="fp32", choices=[p.value for p in Precision])
    ner.add_argument("--backend", default="torch", choices=[b.value for b in Backend])
    ev = sub.add_parser("events", help="event type and actor scores on a gold JSON Lines file")
    what = ev.add_mutually_exclusive_group(required=True)
    what.add_argument("--gold", help="gold sentences in the telegram_events.jsonl format")
    what.add_argument("--news", help="stand-off annotations of whole real articles (models/data/events/news/)")
    ev.add_argument("--corpus", default="../shared/data/events/news",
                    help="with --news: the directory holding the articles' text")
    ev.add_argument("--event-model", default=DEFAULT_EVENTS)
    ev.add_argument("--ner-model", default=DEFAULT_NER)
    ev.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ev.add_argument("--batch-size", type=int, default=16, help="rows per forward pass")
    ev.add_argument("--precision", default="fp32", choices=[p.value for p in Precision],
                    help="the event model's (and the NER model's, without --ner-precision)")
    ev.add_argument("--backend", default="torch", choices=[b.value for b in Backend],
                    help="the event model's (and the NER model's, without --ner-backend)")
    ev.add_argument("--ner-precision", choices=[p.value for p in Precision], help="the NER model's own precision")
    ev.add_argument("--ner-backend", choices=[b.value for b in Backend], help="the NER model's own backend")
    sp = sub.add_parser("speed", help="forward-pass seconds of every CPU variant of one model, interleaved")
    sp.add_argument("model", choices=["ner", "events"], help="the shipped NER or event model")
    sp.add_argument("--source", help="sentences: a CoNLL file (ner; default ../shared/data/ner/conll2003_dev.txt) "
                                     "or gold JSON Lines (events; default models/data/events/dev.jsonl)")
    sp.add_argument("--threads", type=int, default=2, help="intra-op threads of every variant")
    sp.add_argument("--rounds", type=int, default=5)
    sp.add_argument("--sample", type=int, default=800, help="rows taken evenly from the length-sorted source")
    args = parser.parse_args(argv)
    try:
        if args.task == "ner":
            result = evaluate_ner(args.conll, args.model, args.device, args.batch_size, args.precision, args.backend)
        elif args.task == "speed":
            default = ("../shared/data/ner/conll2003_dev.txt" if args.model == "ner"
                       else str(Path(__file__).resolve().parent / "data" / "events" / "dev.jsonl"))
            result = time_variants(args.model, args.source or default, threads=args.threads, rounds=args.rounds,
                                   sample=args.sample)
        else:
            variants = {"backend": args.backend, "ner_backend": args.ner_backend,
                        "ner_precision": args.ner_precision}
            if args.news:
                result = evaluate_news(args.news, args.corpus, args.event_model, args.ner_model, args.device,
                                       args.batch_size, args.precision, variants)
            else:
                result = evaluate_events(args.gold, args.event_model, args.ner_model, args.device, args.batch_size,
                                         args.precision, variants)
    except (OSError, ValueError) as exc:
        print(f"evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
