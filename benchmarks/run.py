"""Throughput of newsevents, measured side by side in one run.

    python -m newsevents.benchmarks.run --articles 200 --device cpu --out bench.json [--precision fp32|int8]

Three ways over the same generated articles (``benchmarks.generate``), each in a
fresh process so its peak RSS is its own:

- ``limit``: the bare forward passes of both models over the same sentences,
  tokenised beforehand, length-sorted, at the best rows-per-pass of a sweep:
  the ceiling for this machine;
- ``pipeline``: the full ``newsevents run`` path on the DirectRunner (read,
  prepare, both models, assemble, write Parquet), model loading included;
- ``naive``: what one writes first: the ``transformers`` token-classification
  pipeline (``aggregation_strategy="simple"``) once per sentence, then the event
  model once per sentence, no batching; on an evenly spread sample of at most
  2,500 of the same sentences (its rate is steady), so the suite stays short.

Ratios compare throughput (tokens/s) of the modes.

With ``--precision int8`` the ``limit`` and ``pipeline`` run quantised, and a
``pipeline_fp32`` run is added so the speed-up is measured in the same run.

Prints and writes one JSON object (per-mode ``seconds``, ``articles_per_s``,
``sentences_per_s``, ``tokens_per_s``, ``peak_rss_mb`` and the ratios
``pipeline_vs_limit``, ``pipeline_vs_naive``), and a markdown table under
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main", "measure"]

RESULTS = Path(__file__).resolve().parent / "results"
SWEEP_ROWS = (8, 16, 32, 64)
# The naive loop runs one sentence at a time at a steady rate: an evenly spread
# sample of this many sentences measures it, so the suite stays under 10 minutes.
NAIVE_SENTENCES = 2500


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def _chunks(path: str) -> list:
    """The pipeline's own chunks of each article (the same sentences every mode sees)."""
    from newsevents.models.document import MAX_ARTICLE_CHARS, prepare_article
    from newsevents.models.sentences import CHUNK_OVERLAP, MAX_WORDS_PER_CHUNK
    from newsevents.pipeline.io.read_articles import parse_json_record

    chunks = []
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            article = parse_json_record(line.rstrip(b"\n"), f"{path}:{n}", MAX_ARTICLE_CHARS)
            _, found = prepare_article(article, MAX_WORDS_PER_CHUNK, CHUNK_OVERLAP)
            chunks += found
    return chunks


def _limit(path: str, device: str, precision: str) -> dict:
    """Forward passes only, over inputs built beforehand."""
    import torch
    from newsevents.models.base import model_outputs
    from newsevents.models.batching import token_batches, token_lengths
    from newsevents.models.decoding import select_types
    from newsevents.models.encoding import encode_words
    from newsevents.models.event_data import type_prompt
    from newsevents.models.events import EventModelHandler
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER

    words = [c.words for c in _chunks(path)]
    ner = NerModelHandler(DEFAULT_NER, device=device, precision=precision).load_model()
    ev = EventModelHandler(DEFAULT_EVENTS, device=device, precision=precision).load_model()
    lengths = token_lengths(ner.tokenizer, words, 256)

    def encoded(rows_words, groups, prompts=None):
        return [encode_words(ner.tokenizer, [rows_words[i] for i in g], 256, True,
                             prompts=None if prompts is None else [prompts[i] for i in g]).tensors for g in groups]

    def timed(model, batches, device_):
        outs, started = [], time.perf_counter()
        for tensors in batches:
            outs.append(model_outputs(model, tensors, device_, precision))
        if device_.startswith("cuda"):
            torch.cuda.synchronize()
        return outs, time.perf_counter() - started

    # The best rows per pass for this machine, on a sample, after a warm-up pass.
    sample = list(range(0, len(words), max(1, len(words) // 512)))[:512]
    best, best_s = SWEEP_ROWS[0], float("inf")
    timed(ner.model, encoded(words, [sample[:16]]), ner.device)
    for rows in SWEEP_ROWS:
        groups = [[sample[i] for i in g] for g in token_batches([lengths[i] for i in sample], rows, 10**9)]
        _, s = timed(ner.model, encoded(words, groups), ner.device)
        if s < best_s:
            best, best_s = rows, s
    groups = token_batches(lengths, best, 10**9)
    batches = encoded(words, groups)
    _, ner_s = timed(ner.model, batches, ner.device)
    type_out, type_s = timed(ev.model, batches, ev.device)
    asks = []
    for g, out in zip(groups, type_out):
        probs = torch.sigmoid(out["type_logits"].float()).cpu().numpy()
        for i, p in zip(g, probs):
            asks += [(i, t) for t, _ in select_types(p, ev.types, ev.threshold)]
    role_words = [words[i] for i, _ in asks]
    prompts = [type_prompt(t) for _, t in asks]
    role_groups = token_batches(token_lengths(ner.tokenizer, role_words, 256, prompts), best, 10**9)
    _, role_s = timed(ev.model, encoded(role_words, role_groups, prompts), ev.device)
    return {"seconds": ner_s + type_s + role_s, "rows_per_pass": best, "ner_s": round(ner_s, 2),
            "event_types_s": round(type_s, 2), "event_roles_s": round(role_s, 2), "role_rows": len(asks),
            "sentences": len(words), "tokens": sum(lengths)}


def _pipeline(path: str, device: str, precision: str, out: str) -> dict:
    from newsevents.pipeline.run import run

    started = time.perf_counter()
    summary = run(["--input", path, "--output", out, "--device", device, "--precision", precision, "--quiet"])
    seconds = time.perf_counter() - started
    if not summary.get("accounted"):
        raise SystemExit(f"benchmark pipeline run did not account for every record: {summary}")
    return {"seconds": seconds, "documents": summary["documents_written"], "events": summary["events"]}


def _naive(path: str, device: str) -> dict:
    import warnings

    from newsevents.models.events import EventModelHandler, predict_events
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER
    from transformers import pipeline as hf_pipeline

    chunks = _chunks(path)
    chunks = chunks[:: max(1, -(-len(chunks) // NAIVE_SENTENCES))]
    ner = NerModelHandler(DEFAULT_NER, device=device).load_model()
    ev = EventModelHandler(DEFAULT_EVENTS, device=device).load_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "model not supported for token-classification": it is, via Auto*
        tagger = hf_pipeline("token-classification", model=ner.model, tokenizer=ner.tokenizer,
                             aggregation_strategy="simple", device=ner.device)
    from newsevents.models.batching import token_lengths

    tokens = sum(token_lengths(ner.tokenizer, [c.words for c in chunks], 256))
    started = time.perf_counter()
    entities = events = 0
    for c in chunks:
        entities += len(tagger(c.surface))
        events += len(predict_events(ev, [c.words], max_rows=1)[0])
    return {"seconds": time.perf_counter() - started, "entities": entities, "events": events,
            "sentences": len(chunks), "tokens": tokens}


def _child(mode: str, path: str, device: str, precision: str, workdir: str) -> dict:
    if mode == "limit":
        result = _limit(path, device, precision)
    elif mode == "pipeline":
        result = _pipeline(path, device, precision, os.path.join(workdir, f"out-{precision}"))
    elif mode == "pipeline_fp32":
        result = _pipeline(path, device, "fp32", os.path.join(workdir, "out-fp32"))
    else:
        result = _naive(path, device)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _run_child(mode: str, path: str, device: str, precision: str, workdir: str) -> dict:
    cmd = [sys.executable, "-m", "newsevents.benchmarks.run", "--child", mode, "--input", path, "--device", device,
           "--precision", precision, "--workdir", workdir]
    env = {**os.environ, "NEWSEVENTS_EXPERIMENTAL_INT8": "1"}  # the int8 path is measured, not offered
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark mode {mode!r} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rates(result: dict, articles: int, sentences: int, tokens: int) -> dict:
    # A mode that measured a sample (naive) reports its own sentences and tokens;
    # its articles/s is scaled by the share of sentences it ran.
    s = result["seconds"]
    n, t = result.get("sentences", sentences), result.get("tokens", tokens)
    return {**result, "seconds": round(s, 2), "articles_per_s": round(articles * n / sentences / s, 2),
            "sentences_per_s": round(n / s, 1), "tokens_per_s": round(t / s)}


def _machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{os.cpu_count()} cores, {cpu}"
    if device == "cuda":
        import torch

        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def measure(articles: int, device: str = "cpu", precision: str = "fp32", modes: tuple[str, ...] | None = None,
            seed: int = 7) -> dict:
    """Run the modes side by side on ``articles`` generated articles; return the JSON-ready result."""
    from newsevents.benchmarks.generate import write_articles
    from newsevents.models.batching import token_lengths
    from newsevents.models.registry import DEFAULT_NER, resolve

    if modes is None:
        modes = ("limit", "pipeline", "naive") + (("pipeline_fp32",) if precision != "fp32" else ())
    with tempfile.TemporaryDirectory(prefix="newsevents-bench-") as workdir:
        path = str(write_articles(os.path.join(workdir, "articles.jsonl"), articles, seed))
        from transformers import AutoTokenizer

        words = [c.words for c in _chunks(path)]
        tokens = sum(token_lengths(AutoTokenizer.from_pretrained(resolve(DEFAULT_NER)[0]), words, 256))
        results = {m: _rates(_run_child(m, path, device, precision, workdir), articles, len(words), tokens)
                   for m in modes}
    out = {"articles": articles, "sentences": len(words), "tokens": tokens, "device": device,
           "precision": precision, "machine": _machine(device), "seed": seed, **results}
    def ratio(fast: str, slow: str, digits: int) -> float:
        return round(results[fast]["tokens_per_s"] / results[slow]["tokens_per_s"], digits)

    if "limit" in results and "pipeline" in results:
        out["pipeline_vs_limit"] = ratio("pipeline", "limit", 3)
    if "naive" in results and "pipeline" in results:
        out["pipeline_vs_naive"] = ratio("pipeline", "naive", 2)
    if "pipeline_fp32" in results and "pipeline" in results:
        out["pipeline_vs_fp32"] = ratio("pipeline", "pipeline_fp32", 2)
    return out


def markdown(result: dict) -> str:
    """The result as a markdown table (what the README shows)."""
    lines = [
        f"{result['articles']} articles, {result['sentences']:,} sentences, {result['tokens']:,} sub-word tokens; "
        f"device {result['device']}, precision {result['precision']}; {result['machine']}.",
        "",
        "| mode | seconds | articles/s | sentences/s | tokens/s | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode in ("limit", "pipeline", "pipeline_fp32", "naive"):
        if mode in result:
            r = result[mode]
            lines.append(f"| {mode} | {r['seconds']} | {r['articles_per_s']} | {r['sentences_per_s']} | "
                         f"{r['tokens_per_s']:,} | {r['peak_rss_mb']:,} |")
    ratios = [f"{k} **{result[k]}**" for k in ("pipeline_vs_limit", "pipeline_vs_naive", "pipeline_vs_fp32")
              if k in result]
    if ratios:
        lines += ["", "Ratios (higher is better): " + ", ".join(ratios) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsevents.benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8", "fp16", "bf16"])
    parser.add_argument("--modes", help="comma-separated subset of limit,pipeline,pipeline_fp32,naive")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="write the JSON here too")
    parser.add_argument("--results-dir", default=str(RESULTS), help="where the markdown table goes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.input, args.device, args.precision, args.workdir)))
        return 0
    modes = tuple(args.modes.split(",")) if args.modes else None
    result = measure(args.articles, args.device, args.precision, modes, args.seed)
    table = markdown(result)
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        name = f"{args.device}-{args.precision}-{args.articles}.md"
        Path(args.results_dir, name).write_text(table, encoding="utf-8")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table, file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
