"""Fine-tune the project's event model from the shipped NER model.

    python -m newsevents.models.train_events [--train FILE] [--dev FILE] [--out DIR]
    python -m newsevents.models.train_events --news-train models/data/events/news/train.jsonl \
        --news-dev models/data/events/news/dev.jsonl --corpus ../shared/data/events/news

Defaults: the team's data in ``models/data/events/``, initialised from the NER
artifact ``ner.minilm_cased.v1`` (encoder, casing/char features), whose word
embeddings stay frozen and are not saved: the event artifact points at them.
Seeded; prints dev scores each epoch, keeps the best epoch, tunes the type
threshold on dev, saves fp16 safetensors.

With the real-news corpus (issue #12), its train split joins the team's
sentences, its annotated modes train a mode head, and the epoch, the type
threshold(s) and the types that report modes are chosen on the real-news dev
split instead of the team's.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from newsevents.models.cased_bert import CasedBertConfig, CasedBertForEvents
from newsevents.models.encoding import encode_words
from newsevents.models.event_data import (
    DATA_DIR,
    ROLE_LABELS,
    GoldEvent,
    GoldSentence,
    read_gold,
    role_tags,
    sentence_words,
    type_prompt,
)
from newsevents.models.event_scoring import score_events
from newsevents.models.events import EMBEDDINGS_KEY, LoadedEvents, embedding_digest, predict_events
from newsevents.models.registry import ARTIFACTS, DEFAULT_NER, resolve
from newsevents.models.training import replace_dir, seed_everything, staging_dir, train_step
from newsevents.schemas.ontology import MODE_LABELS, MODES, TYPE_NAMES

DEFAULT_OUT = ARTIFACTS / "events-minilm-v1"


IGNORE = -100


def _mode_label(events, has_modes: bool) -> int:
    # The first coded mode of the type's events; "none" when the annotators gave none; ignored without annotations.
    if not has_modes:
        return IGNORE
    mode = next((e.mode for e in events if e.mode), None)
    return MODE_LABELS.index(mode) if mode else 0


def _examples(sentences, rng: random.Random, negatives: int, with_modes: frozenset[str] = frozenset()):
    """Type and role examples; ``with_modes`` names the sentence keys whose events carry mode annotations."""
    type_ex, role_ex = [], []
    for s in sentences:
        words, spans = sentence_words(s.text)
        if not words:
            continue
        y = np.zeros(len(TYPE_NAMES), dtype=np.float32)
        by_type = defaultdict(list)
        for e in s.events:
            y[TYPE_NAMES.index(e.type)] = 1.0
            by_type[e.type].append(e)
        type_ex.append((words, y))
        for t, evs in by_type.items():
            tags = role_tags(s.text, evs, spans)
            role_ex.append((type_prompt(t), words, [ROLE_LABELS.index(x) for x in tags],
                            _mode_label(evs, s.key in with_modes)))
        # Asked about a type the sentence does not hold, the tagger must find nothing.
        absent = [t for t in TYPE_NAMES if t not in by_type]
        for t in rng.sample(absent, min(negatives, len(absent))):
            role_ex.append((type_prompt(t), words, [0] * len(words), IGNORE))
    return type_ex, role_ex


def news_gold(path: str, corpus: str) -> list[GoldSentence]:
    """The sentences of a real-news annotation file as gold sentences (modes, locations and times kept)."""
    from newsevents.models.news_corpus import gold_sentences, load_articles, read_annotations

    lines = read_annotations(path)
    articles = load_articles(corpus, [line["doc_id"] for line in lines])
    return [GoldSentence(f"{s.doc_id}#{s.index}", s.text, s.events)
            for line in lines for s in gold_sentences(line, articles[line["doc_id"]])]


def predict_gold(loaded: LoadedEvents, sentences, threshold: float | None = None, batch_size: int = 32):
    """``(confidence, GoldEvent)`` predictions for each gold sentence, via the production decoder."""
    loaded.model.eval()
    out = []
    for b in range(0, len(sentences), batch_size):
        chunk = sentences[b : b + batch_size]
        words_spans = [sentence_words(s.text) for s in chunk]
        raw = predict_events(loaded, [w for w, _ in words_spans], threshold=threshold)
        for s, (words, spans), events in zip(chunk, words_spans, raw):
            def text(span):
                return None if span is None else s.text[spans[span.start][0] : spans[span.end - 1][1]]
            out.append([(e.confidence, GoldEvent(e.type, text(e.roles.get("TRG")), text(e.roles.get("SRC")),
                                                 text(e.roles.get("TGT")), mode=e.mode)) for e in events])
    return out


def scores_by_threshold(gold, predicted, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> dict[float, dict]:
    """Dev scores at each type threshold (roles do not depend on it, so one pass serves all)."""
    return {th: score_events(gold, [[e for c, e in p if c >= th] for p in predicted]) for th in thresholds}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(DATA_DIR / "train.jsonl"))
    ap.add_argument("--dev", default=str(DATA_DIR / "dev.jsonl"))
    ap.add_argument("--news-train", help="real-news stand-off annotations to train on (models/data/events/news/)")
    ap.add_argument("--news-dev", help="real-news stand-off annotations to choose epoch and thresholds on")
    ap.add_argument("--corpus", default="../shared/data/events/news", help="the articles' text, for --news-*")
    ap.add_argument("--news-weight", type=int, default=1, help="times each real-news sentence is seen per epoch")
    ap.add_argument("--init", help="an event model to continue from (its heads and encoder) instead of the NER model")
    ap.add_argument("--mode-weight", type=float, default=0.5, help="weight of the mode loss beside the role loss")
    ap.add_argument("--per-type-thresholds", action="store_true", help="tune a type threshold per type on dev")
    ap.add_argument("--rare-weight", action="store_true",
                    help="weigh each type's positives by sqrt(most frequent type's count / its count), at most 4")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--ner-model", default=DEFAULT_NER, help="NER model to start from and share embeddings with")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--negatives", type=int, default=1, help="absent types asked per sentence")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)

    seed_everything(args.seed)
    from transformers import AutoTokenizer

    ner_dir, ner_name = resolve(args.ner_model)
    train = read_gold(args.train)
    dev = read_gold(args.dev)
    news_train = news_gold(args.news_train, args.corpus) if args.news_train else []
    news_dev = news_gold(args.news_dev, args.corpus) if args.news_dev else []
    if args.limit:
        train, dev = train[: args.limit], dev[: max(8, args.limit // 4)]
        news_train, news_dev = news_train[: args.limit], news_dev[: max(8, args.limit // 4)]
    with_modes = frozenset(s.key for s in news_train)
    train_all = train + news_train * args.news_weight
    select_on = news_dev or dev
    tokenizer = AutoTokenizer.from_pretrained(ner_dir)
    cfg = CasedBertConfig.from_pretrained(ner_dir).to_dict()
    for key in ("id2label", "label2id", "num_labels", "architectures", "model_type", "transformers_version"):
        cfg.pop(key, None)
    extra = {"mode_labels": list(MODE_LABELS)} if news_train else {}
    config = CasedBertConfig(**cfg, architectures=["CasedBertForEvents"], event_types=list(TYPE_NAMES),
                             role_labels=list(ROLE_LABELS), **extra)
    model = CasedBertForEvents.from_pretrained(ner_dir, config=config, dtype=torch.float32)
    if args.init:
        _load_init(model, args.init)
    emb = model.bert.embeddings.word_embeddings.weight
    emb.requires_grad_(False)  # shared with the NER model, not saved
    digest = embedding_digest(emb)

    head_names = ("type_head", "role_head", "mode_head")
    heads = [p for n, p in model.named_parameters() if n.startswith(head_names) and p.requires_grad]
    body = [p for n, p in model.named_parameters() if not n.startswith(head_names) and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.head_lr}], weight_decay=0.01)
    rng = random.Random(args.seed)
    loaded = LoadedEvents(tokenizer, model, "cpu", list(TYPE_NAMES), list(ROLE_LABELS), 0.5,
                          modes=list(MODE_LABELS) if news_train else [])

    type_ex, role_ex = _examples(train_all, rng, args.negatives, with_modes)
    pos_weight = _rare_weights(type_ex) if args.rare_weight else None
    steps = args.epochs * (math.ceil(len(type_ex) / args.batch_size) + math.ceil(len(role_ex) / args.batch_size))
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    best: dict = {"score": -1.0}
    out = Path(args.out)
    for epoch in range(1, args.epochs + 1):
        if epoch > 1:  # new negatives each epoch
            type_ex, role_ex = _examples(train_all, rng, args.negatives, with_modes)
        model.train()
        rng.shuffle(type_ex)
        rng.shuffle(role_ex)
        batches = [("type", b) for b in _length_batches(type_ex, args.batch_size, lambda x: len(x[0]))]
        batches += [("role", b) for b in _length_batches(role_ex, args.batch_size, lambda x: len(x[1]))]
        rng.shuffle(batches)
        t0, total = time.perf_counter(), 0.0
        for kind, batch in batches:
            if kind == "type":
                enc = encode_words(tokenizer, [w for w, _ in batch], 256, True)
                logits = model(**enc.tensors)["type_logits"]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, torch.from_numpy(np.stack([y for _, y in batch])), pos_weight=pos_weight)
            else:
                enc = encode_words(tokenizer, [w for _, w, _, _ in batch], 256, True,
                                   labels=[t for _, _, t, _ in batch], label_names=ROLE_LABELS,
                                   prompts=[p for p, _, _, _ in batch])
                labels = enc.tensors.pop("labels")
                outputs = model(**enc.tensors)
                loss = torch.nn.functional.cross_entropy(outputs["role_logits"].reshape(-1, len(ROLE_LABELS)),
                                                         labels.reshape(-1), ignore_index=IGNORE)
                modes = torch.tensor([m for _, _, _, m in batch])
                if "mode_logits" in outputs and (modes != IGNORE).any():
                    loss = loss + args.mode_weight * torch.nn.functional.cross_entropy(
                        outputs["mode_logits"], modes, ignore_index=IGNORE)
            total += train_step(model, loss, opt, sched)
        th, sc, combined = _dev_scores(loaded, select_on)
        line = {"epoch": epoch, "loss": round(total / len(batches), 4), "train_s": round(time.perf_counter() - t0),
                "threshold": th, **{k: v for k, v in sc.items() if k not in ("per_type_f1", "per_type_mode_accuracy",
                                                                            "per_type_mode_count")}}
        if news_dev:
            team = score_events([list(s.events) for s in dev],
                                [[e for c, e in p if c >= th] for p in predict_gold(loaded, dev, threshold=th)])
            line["team_dev_type_f1"] = team["type_f1"]
        print(json.dumps(line), flush=True)
        if combined > best["score"]:
            best = {"score": combined, "epoch": epoch, "threshold": th, "dev": sc}
            _save(model, tokenizer, out, th, {"model": ner_name, "digest": digest})
    chosen = _choose_decoding(out, select_on, args.per_type_thresholds, best["threshold"]) if news_dev else {}
    meta = {"best_epoch": best["epoch"], "threshold": best["threshold"], "dev": best["dev"], "args": vars(args),
            "train_sentences": len(train), "news_train_sentences": len(news_train), **chosen}
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"best_epoch": best["epoch"], "type_f1": best["dev"]["type_f1"],
                      "source_f1": best["dev"]["source_f1"], "target_f1": best["dev"]["target_f1"], **chosen}))
    return meta


def _dev_scores(loaded: LoadedEvents, dev) -> tuple[float, dict, float]:
    """Best type threshold on dev, its scores, and the selection score (types, then actors)."""
    gold = [list(s.events) for s in dev]
    scores = scores_by_threshold(gold, predict_gold(loaded, dev, threshold=0.3))

    def combined(sc: dict) -> float:
        return sc["type_f1"] + 0.5 * (sc["source_f1"] + sc["target_f1"])

    th, sc = max(scores.items(), key=lambda kv: combined(kv[1]))
    return th, sc, combined(sc)


def _length_batches(examples: list, size: int, length, pool: int = 50) -> list[list]:
    """Batches of similar length: shuffled examples, sorted within pools of ``pool`` batches.

    Real-news sentences run from 3 to 120 words; random batches padded every row
    to the longest and made an epoch several times slower.
    """
    out = []
    step = size * pool
    for p in range(0, len(examples), step):
        chunk = sorted(examples[p : p + step], key=length)
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return out


def _rare_weights(type_ex) -> torch.Tensor:
    counts = np.maximum(np.stack([y for _, y in type_ex]).sum(axis=0), 1.0)
    return torch.from_numpy(np.clip(np.sqrt(counts.max() / counts), 1.0, 4.0).astype(np.float32))


def _load_init(model, init: str) -> None:
    from safetensors.torch import load_file

    state = load_file(str(Path(resolve(init)[0]) / "model.safetensors"))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    allowed = {EMBEDDINGS_KEY, "mode_head.weight", "mode_head.bias"}
    if set(missing) - allowed or unexpected:
        raise ValueError(f"{init} does not fit this event model: missing {sorted(set(missing) - allowed)}, "
                         f"unexpected {sorted(unexpected)}.")


def tune_type_thresholds(gold, predicted, base: float, grid=(0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
                         min_support: int = 8) -> dict[str, float]:
    """Per-type thresholds that raise that type's dev F1 over ``base`` (types with enough gold events only)."""
    counts = defaultdict(int)
    for g in gold:
        for t in {e.type for e in g}:
            counts[t] += 1
    out = {}
    for t in TYPE_NAMES:
        if counts[t] < min_support:
            continue

        f1 = {th: score_events(gold, [[e for c, e in p if c >= (th if e.type == t else base)] for p in predicted])
              ["per_type_f1"].get(t, 0.0) for th in {*grid, base}}
        best = max(grid, key=lambda th: (round(f1[th], 4), -abs(th - base)))
        if best != base and f1[best] > f1[base]:
            out[t] = best
    return out


def _choose_decoding(out: Path, dev, per_type: bool, threshold: float) -> dict:
    """On the chosen artifact: per-type thresholds (if asked) and the types whose modes reach 0.6 accuracy."""
    from newsevents.models.event_scoring import score_fields
    from newsevents.models.events import EventModelHandler

    loaded = EventModelHandler(str(out), device="cpu").load_model()
    gold = [list(s.events) for s in dev]
    predicted = predict_gold(loaded, dev, threshold=0.2)
    thresholds = tune_type_thresholds(gold, predicted, threshold) if per_type else {}
    kept = [[e for c, e in p if c >= thresholds.get(e.type, threshold)] for p in predicted]
    fields = score_fields(gold, kept)
    mode_types = sorted(t for t, acc in fields["per_type_mode_accuracy"].items()
                        if acc >= 0.6 and fields["per_type_mode_count"][t] >= 5 and MODES[t])
    config = json.loads((out / "config.json").read_text())
    config["type_thresholds"] = thresholds
    config["mode_types"] = mode_types
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return {"type_thresholds": thresholds, "mode_types": mode_types,
            "dev_mode_accuracy": fields["per_type_mode_accuracy"], "dev_mode_count": fields["per_type_mode_count"],
            "dev_with_thresholds": {k: v for k, v in score_events(gold, kept).items()}}


def _save(model, tokenizer, out: Path, threshold: float, shared: dict) -> None:
    from safetensors.torch import save_file

    tmp = staging_dir(out)
    model.config.type_threshold = threshold
    model.config.shared_embeddings = shared
    model.config.save_pretrained(tmp)
    # fp16 on disk, without the embedding table shared with the NER model.
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items() if k != EMBEDDINGS_KEY}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(tmp)
    replace_dir(tmp, out)


if __name__ == "__main__":
    main()
