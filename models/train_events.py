"""Fine-tune the project's event model from the shipped NER model.

    python -m models.train_events [--train FILE] [--dev FILE] [--out DIR]

Defaults: the team's data in ``models/data/events/``, initialised from the NER
artifact ``ner.minilm_cased.v1`` (encoder, casing/char features), whose word
embeddings stay frozen and are not saved: the event artifact points at them.
Seeded; prints dev scores each epoch, keeps the best epoch, tunes the type
threshold on dev, saves fp16 safetensors.
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

from models.cased_bert import CasedBertConfig, CasedBertForEvents
from models.encoding import encode_words
from models.event_data import DATA_DIR, ROLE_LABELS, GoldEvent, read_gold, role_tags, sentence_words, type_prompt
from models.event_scoring import score_events
from models.events import EMBEDDINGS_KEY, LoadedEvents, embedding_digest, predict_events
from models.registry import ARTIFACTS, DEFAULT_NER, resolve
from models.training import replace_dir, seed_everything, staging_dir, train_step
from schemas.ontology import TYPE_NAMES

DEFAULT_OUT = ARTIFACTS / "events-minilm-v1"


def _examples(sentences, rng: random.Random, negatives: int):
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
            role_ex.append((type_prompt(t), words, [ROLE_LABELS.index(x) for x in tags]))
        # Asked about a type the sentence does not hold, the tagger must find nothing.
        absent = [t for t in TYPE_NAMES if t not in by_type]
        for t in rng.sample(absent, min(negatives, len(absent))):
            role_ex.append((type_prompt(t), words, [0] * len(words)))
    return type_ex, role_ex


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
                                                 text(e.roles.get("TGT")))) for e in events])
    return out


def scores_by_threshold(gold, predicted, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> dict[float, dict]:
    """Dev scores at each type threshold (roles do not depend on it, so one pass serves all)."""
    return {th: score_events(gold, [[e for c, e in p if c >= th] for p in predicted]) for th in thresholds}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(DATA_DIR / "train.jsonl"))
    ap.add_argument("--dev", default=str(DATA_DIR / "dev.jsonl"))
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
    if args.limit:
        train, dev = train[: args.limit], dev[: max(8, args.limit // 4)]
    tokenizer = AutoTokenizer.from_pretrained(ner_dir)
    cfg = CasedBertConfig.from_pretrained(ner_dir).to_dict()
    for key in ("id2label", "label2id", "num_labels", "architectures", "model_type", "transformers_version"):
        cfg.pop(key, None)
    config = CasedBertConfig(**cfg, architectures=["CasedBertForEvents"], event_types=list(TYPE_NAMES),
                             role_labels=list(ROLE_LABELS))
    model = CasedBertForEvents.from_pretrained(ner_dir, config=config, dtype=torch.float32)
    emb = model.bert.embeddings.word_embeddings.weight
    emb.requires_grad_(False)  # shared with the NER model, not saved
    digest = embedding_digest(emb)

    heads = [p for n, p in model.named_parameters() if n.startswith(("type_head", "role_head")) and p.requires_grad]
    body = [p for n, p in model.named_parameters() if not n.startswith(("type_head", "role_head")) and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.head_lr}], weight_decay=0.01)
    rng = random.Random(args.seed)
    loaded = LoadedEvents(tokenizer, model, "cpu", list(TYPE_NAMES), list(ROLE_LABELS), 0.5)

    type_ex, role_ex = _examples(train, rng, args.negatives)
    steps = args.epochs * (math.ceil(len(type_ex) / args.batch_size) + math.ceil(len(role_ex) / args.batch_size))
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    best: dict = {"score": -1.0}
    out = Path(args.out)
    for epoch in range(1, args.epochs + 1):
        if epoch > 1:  # new negatives each epoch
            type_ex, role_ex = _examples(train, rng, args.negatives)
        model.train()
        rng.shuffle(type_ex)
        rng.shuffle(role_ex)
        batches = [("type", type_ex[i : i + args.batch_size]) for i in range(0, len(type_ex), args.batch_size)]
        batches += [("role", role_ex[i : i + args.batch_size]) for i in range(0, len(role_ex), args.batch_size)]
        rng.shuffle(batches)
        t0, total = time.perf_counter(), 0.0
        for kind, batch in batches:
            if kind == "type":
                enc = encode_words(tokenizer, [w for w, _ in batch], 256, True)
                logits = model(**enc.tensors)["type_logits"]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, torch.from_numpy(np.stack([y for _, y in batch])))
            else:
                enc = encode_words(tokenizer, [w for _, w, _ in batch], 256, True,
                                   labels=[t for _, _, t in batch], label_names=ROLE_LABELS,
                                   prompts=[p for p, _, _ in batch])
                labels = enc.tensors.pop("labels")
                logits = model(**enc.tensors)["role_logits"]
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(ROLE_LABELS)), labels.reshape(-1),
                                                         ignore_index=-100)
            total += train_step(model, loss, opt, sched)
        th, sc, combined = _dev_scores(loaded, dev)
        print(json.dumps({"epoch": epoch, "loss": round(total / len(batches), 4), "train_s": round(time.perf_counter() - t0),
                          "threshold": th, **{k: v for k, v in sc.items() if k != "per_type_f1"}}), flush=True)
        if combined > best["score"]:
            best = {"score": combined, "epoch": epoch, "threshold": th, "dev": sc}
            _save(model, tokenizer, out, th, {"model": ner_name, "digest": digest})
    meta = {"best_epoch": best["epoch"], "threshold": best["threshold"], "dev": best["dev"], "args": vars(args),
            "train_sentences": len(train)}
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"best_epoch": best["epoch"], "type_f1": best["dev"]["type_f1"],
                      "source_f1": best["dev"]["source_f1"], "target_f1": best["dev"]["target_f1"]}))
    return meta


def _dev_scores(loaded: LoadedEvents, dev) -> tuple[float, dict, float]:
    """Best type threshold on dev, its scores, and the selection score (types, then actors)."""
    gold = [list(s.events) for s in dev]
    scores = scores_by_threshold(gold, predict_gold(loaded, dev, threshold=0.3))

    def combined(sc: dict) -> float:
        return sc["type_f1"] + 0.5 * (sc["source_f1"] + sc["target_f1"])

    th, sc = max(scores.items(), key=lambda kv: combined(kv[1]))
    return th, sc, combined(sc)


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
