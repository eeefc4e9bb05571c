"""Throughput of newsevents, measured side by side in one run.

    python -m newsevents.benchmarks.run --articles 100 --device cpu --out bench.json \\
        [--precision fp32|int8|fp16|bf16] [--variants int8,onnx,onnx-int8] [--curve 10,100,1000] [--workers 1,2]

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

With ``--precision int8`` (or another) the ``limit`` and ``pipeline`` run at that
precision, and a ``pipeline_fp32`` run is added so the speed-up is measured in the
same run. ``--variants`` adds one ``pipeline_<variant>`` run per offered CPU variant
(``int8``: PyTorch dynamic int8; ``onnx``: ONNX Runtime fp32; ``onnx-int8``) and
its ratio to ``naive``.

How cost grows: ``--curve`` runs the pipeline on each number of articles (the
first articles of the same generated set) and on one article, whose time stands
for the start-up (imports, model loads, graph construction); each point reports
articles/s with the start-up and without it (``(N - 1) / (T_N - T_1)``).
``--workers`` runs the ``--articles`` set with ``--direct_num_workers N
--direct_running_mode multi_processing``. The curve is drawn to a PNG beside the
markdown table.

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
    # The largest of this process and its worker processes (multi_processing runs); Linux reports KiB.
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(peak / 1024, 1)


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


def _pipeline(path: str, device: str, precision: str, out: str, extra: list[str] = ()) -> dict:
    from newsevents.pipeline.run import run

    started = time.perf_counter()
    summary = run(["--input", path, "--output", out, "--device", device, "--precision", precision, "--quiet",
                   *extra])
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


#: CPU variants ``--variants`` can ask for, as ``newsevents run`` flags.
VARIANTS = {
    "int8": ["--precision", "int8"],
    "onnx": ["--backend", "onnx"],
    "onnx-int8": ["--backend", "onnx", "--precision", "int8"],
}


def _child(mode: str, path: str, device: str, precision: str, workdir: str, extra: list[str]) -> dict:
    out = os.path.join(workdir, f"out-{mode}")
    if mode == "limit":
        result = _limit(path, device, precision)
    elif mode == "naive":
        result = _naive(path, device)
    else:  # a pipeline run: its precision and other flags come in ``extra`` when they are not the run's
        result = _pipeline(path, device, precision, out, extra)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _run_child(mode: str, path: str, device: str, precision: str, workdir: str, extra: list[str] = ()) -> dict:
    cmd = [sys.executable, "-m", "newsevents.benchmarks.run", "--child", mode, "--input", path, "--device", device,
           "--precision", precision, "--workdir", workdir, "--extra", json.dumps(list(extra))]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
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


def _first(path: str, n: int, workdir: str) -> str:
    # The first ``n`` articles of the generated set: every curve point reads the same articles.
    out = os.path.join(workdir, f"articles-{n}.jsonl")
    with open(path, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i == n:
                break
            dst.write(line)
    return out


def cost_curve(points: dict[int, float]) -> list[dict]:
    """Articles/s at each article count, with the start-up and without it.

    ``points`` maps article counts to a whole run's seconds and must hold ``1``:
    that run's time stands for the start-up, so the amortised rate is the
    marginal one, ``(N - 1) / (T_N - T_1)``.

    >>> cost_curve({1: 10.0, 11: 20.0, 101: 110.0})
    [{'articles': 11, 'seconds': 20.0, 'articles_per_s': 0.55, 'amortised_articles_per_s': 1.0}, \
{'articles': 101, 'seconds': 110.0, 'articles_per_s': 0.92, 'amortised_articles_per_s': 1.0}]
    """
    startup = points[1]
    return [{"articles": n, "seconds": round(t, 2), "articles_per_s": round(n / t, 2),
             "amortised_articles_per_s": round((n - 1) / (t - startup), 2) if t > startup else None}
            for n, t in sorted(points.items()) if n > 1]


def measure(articles: int, device: str = "cpu", precision: str = "fp32", modes: tuple[str, ...] | None = None,
            seed: int = 7, variants: tuple[str, ...] = (), curve: tuple[int, ...] = (),
            workers: tuple[int, ...] = (), extra: tuple[str, ...] = ()) -> dict:
    """Run the modes side by side on ``articles`` generated articles; return the JSON-ready result.

    ``extra`` are more ``newsevents run`` flags for every pipeline run (``--max-batch-tokens 65536``).
    """
    from newsevents.benchmarks.generate import write_articles
    from newsevents.models.batching import token_lengths
    from newsevents.models.registry import DEFAULT_NER, resolve

    if modes is None:
        modes = ("limit", "pipeline", "naive") + (("pipeline_fp32",) if precision != "fp32" else ())
    unknown = set(variants) - VARIANTS.keys()
    if unknown:
        raise SystemExit(f"unknown --variants {sorted(unknown)}; choose from {sorted(VARIANTS)}")
    extra = list(extra)
    with tempfile.TemporaryDirectory(prefix="newsevents-bench-") as workdir:
        path = str(write_articles(os.path.join(workdir, "articles.jsonl"), max([articles, *curve]), seed))
        main_set = _first(path, articles, workdir)
        from transformers import AutoTokenizer

        words = [c.words for c in _chunks(main_set)]
        tokens = sum(token_lengths(AutoTokenizer.from_pretrained(resolve(DEFAULT_NER)[0]), words, 256))

        def rates(mode: str, flags: list[str] = (), run_precision: str = precision) -> dict:
            return _rates(_run_child(mode, main_set, device, run_precision, workdir, [*extra, *flags]),
                          articles, len(words), tokens)

        results = {m: rates(m, run_precision="fp32" if m == "pipeline_fp32" else precision) for m in modes}
        for v in variants:
            results[f"pipeline_{v}"] = rates(f"pipeline_{v}", VARIANTS[v], "fp32")
        seconds = {}
        for n in sorted({1, *curve}) if curve else ():
            if n == articles and "pipeline" in results:
                seconds[n] = results["pipeline"]["seconds"]
            else:
                seconds[n] = _run_child(f"curve_{n}", _first(path, n, workdir), device, precision, workdir,
                                        extra)["seconds"]
        by_workers = {}
        for w in workers:
            flags = ["--direct_num_workers", str(w), "--direct_running_mode", "multi_processing"]
            by_workers[str(w)] = rates(f"workers_{w}", flags)
    out = {"articles": articles, "sentences": len(words), "tokens": tokens, "device": device,
           "precision": precision, "machine": _machine(device), "seed": seed, "pipeline_flags": extra, **results}

    def ratio(fast: str, slow: str, digits: int) -> float:
        return round(results[fast]["tokens_per_s"] / results[slow]["tokens_per_s"], digits)

    if "limit" in results and "pipeline" in results:
        out["pipeline_vs_limit"] = ratio("pipeline", "limit", 3)
    if "naive" in results and "pipeline" in results:
        out["pipeline_vs_naive"] = ratio("pipeline", "naive", 2)
    if "pipeline_fp32" in results and "pipeline" in results:
        out["pipeline_vs_fp32"] = ratio("pipeline", "pipeline_fp32", 2)
    for v in variants:
        if "naive" in results:
            out[f"pipeline_{v}_vs_naive"] = ratio(f"pipeline_{v}", "naive", 2)
        if "pipeline" in results:
            out[f"pipeline_{v}_vs_pipeline"] = ratio(f"pipeline_{v}", "pipeline", 2)
    if seconds:
        out["startup_s"] = round(seconds[1], 2)
        out["curve"] = cost_curve(seconds)
    if by_workers:
        out["workers"] = by_workers
    return out


def _table_rows(result: dict, modes) -> list[str]:
    return [f"| {mode} | {r['seconds']} | {r['articles_per_s']} | {r['sentences_per_s']} | {r['tokens_per_s']:,} | "
            f"{r['peak_rss_mb']:,} |" for mode, r in modes]


_HEAD = ["| mode | seconds | articles/s | sentences/s | tokens/s | peak RSS (MB) |", "|---|---:|---:|---:|---:|---:|"]


def markdown(result: dict, plot: str | None = None) -> str:
    """The result as markdown tables (what the README shows)."""
    flags = f" Pipeline flags: `{' '.join(result['pipeline_flags'])}`." if result.get("pipeline_flags") else ""
    lines = [
        f"{result['articles']} articles, {result['sentences']:,} sentences, {result['tokens']:,} sub-word tokens; "
        f"device {result['device']}, precision {result['precision']}; {result['machine']}.{flags}",
        "",
        *_HEAD,
    ]
    order = ["limit", "pipeline", "pipeline_fp32"] + [k for k in result if k.startswith("pipeline_")
                                                     and isinstance(result[k], dict) and k != "pipeline_fp32"]
    lines += _table_rows(result, [(m, result[m]) for m in order + ["naive"] if m in result])
    ratios = [f"{k} **{result[k]}**" for k in result if k.endswith(("_vs_limit", "_vs_naive", "_vs_fp32",
                                                                        "_vs_pipeline"))]
    if ratios:
        lines += ["", "Ratios (tokens/s, higher is better): " + ", ".join(ratios) + "."]
    if "workers" in result:
        lines += ["", f"DirectRunner workers (`--direct_num_workers N --direct_running_mode multi_processing`, "
                      f"{result['articles']} articles):", "", *_HEAD]
        lines += _table_rows(result, [(f"{w} worker{'s' if w != '1' else ''}", r) for w, r in result["workers"].items()])
    if "curve" in result:
        lines += ["", f"How cost grows (start-up, the time of a one-article run: {result['startup_s']} s):", "",
                  "| articles | seconds | articles/s | articles/s without start-up |", "|---:|---:|---:|---:|"]
        lines += [f"| {p['articles']:,} | {p['seconds']} | {p['articles_per_s']} | {p['amortised_articles_per_s']} |"
                  for p in result["curve"]]
        if plot:
            lines += ["", f"![articles/s against articles]({plot})"]
    return "\n".join(lines) + "\n"


def plot_curve(result: dict, path: str) -> str:
    """Draw the cost curve (articles/s against articles, log scale) to a small PNG; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = result["curve"]
    fig, ax = plt.subplots(figsize=(5.2, 3.0), dpi=110)
    n = [p["articles"] for p in points]
    ax.plot(n, [p["articles_per_s"] for p in points], "o-", color="#1f77b4", label="with start-up")
    ax.plot(n, [p["amortised_articles_per_s"] for p in points], "s--", color="#2ca02c", label="without start-up")
    for w, r in result.get("workers", {}).items():
        ax.plot([result["articles"]], [r["articles_per_s"]], "^", color="#d62728" if w != "1" else "#ff7f0e",
                label=f"{w} worker process{'es' if w != '1' else ''}")
    ax.set_xscale("log")
    ax.set_xlabel("articles in the run")
    ax.set_ylabel("articles/s")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"newsevents run, {result['device']} {result['precision']}, {result['machine'].split(',')[0]}",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _ints(text: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",")) if text else ()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsevents.benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8", "fp16", "bf16"])
    parser.add_argument("--modes", help="comma-separated subset of limit,pipeline,pipeline_fp32,naive")
    parser.add_argument("--variants", help=f"comma-separated CPU variants to run the pipeline with too: "
                                           f"{','.join(VARIANTS)}")
    parser.add_argument("--curve", help="comma-separated article counts for the cost curve, e.g. 10,100,1000")
    parser.add_argument("--workers", help="comma-separated --direct_num_workers to run the pipeline with, e.g. 1,2")
    parser.add_argument("--pipeline-flag", action="append", default=[], metavar="FLAG",
                        help="a newsevents run flag for every pipeline run (repeat; e.g. --pipeline-flag=--batch-size"
                             " --pipeline-flag=256)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="write the JSON here too")
    parser.add_argument("--results-dir", default=str(RESULTS), help="where the markdown table (and plot) go")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--extra", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.input, args.device, args.precision, args.workdir,
                                json.loads(args.extra))))
        return 0
    modes = tuple(args.modes.split(",")) if args.modes else None
    variants = tuple(args.variants.split(",")) if args.variants else ()
    result = measure(args.articles, args.device, args.precision, modes, args.seed, variants, _ints(args.curve),
                     _ints(args.workers), tuple(args.pipeline_flag))
    name = f"{args.device}-{args.precision}-{args.articles}"
    plot = None
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        if "curve" in result:
            plot = os.path.basename(plot_curve(result, os.path.join(args.results_dir, f"{name}-curve.png")))
        Path(args.results_dir, f"{name}.md").write_text(markdown(result, plot), encoding="utf-8")
        Path(args.results_dir, f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown(result, plot), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
