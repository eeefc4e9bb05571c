"""Annotation tools for the real-news corpus (issue #12).

    python -m newsevents.models.news_annotate sheet --corpus DIR ID [ID ...]      # numbered sentences to code
    python -m newsevents.models.news_annotate check --corpus DIR SHEET.json ...    # resolve and validate sheets
    python -m newsevents.models.news_annotate compile --corpus DIR --out DIR SHEET_DIR [SHEET_DIR ...]
    python -m newsevents.models.news_annotate candidates --corpus DIR --out DIR ID [ID ...]
    python -m newsevents.models.news_annotate agreement --corpus DIR A.jsonl B.jsonl

Annotators never write offsets by hand. They code each article in a *sheet*
(JSON, one per article) that quotes spans verbatim from the numbered sentences
that ``sheet`` prints::

    {"doc_id": "bbc/politics/017", "annotator": "h3", "pass": 1,
     "sentence_fixes": [{"merge": 4}, {"split": 7, "before": "The minister"}],
     "events": [{"s": 3, "type": "ACCUSE", "mode": "allege", "trigger": "accused",
                 "source": "Labour", "target": ["the government", 2], "location": null, "time": null}]}

``s`` is the proposed sentence number; a span is a string (its occurrence nearest
the trigger; the trigger's first occurrence) or ``[string, k]`` for the k-th
occurrence in that sentence. ``merge: i`` joins sentence i and i+1; ``split``
starts a new sentence at the quoted text. ``compile`` turns sheets into the
stand-off lines of ``models/data/events/news/`` (offsets only, no article text),
one file per split, and validates them. Sheets quote the article and so stay
outside the repository.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections import defaultdict

from newsevents.models.event_scoring import score_events, score_fields
from newsevents.models.news_corpus import (
    ROLES,
    corpus_of,
    gold_sentences,
    load_articles,
    propose_sentences,
    read_annotations,
    sentence_at,
    split_of,
    validate,
)
from newsevents.schemas.ontology import MODES, TYPE_NAMES

__all__ = ["agreement", "compile_sheet", "main", "sheet_name"]


class SheetError(ValueError):
    """A sheet that cannot be turned into offsets; the message says where and why."""


def sheet_name(doc_id: str) -> str:
    """The file name of an article's sheet."""
    return doc_id.replace("/", "__") + ".json"


def _occurrences(text: str, needle: str, whole_words: bool = True) -> list[int]:
    # Whole-word occurrences first ("he" is not the end of "the"); inside words only if there is none.
    found, at = [], text.find(needle)
    while at >= 0 and needle:
        found.append(at)
        at = text.find(needle, at + 1)

    def whole(a: int) -> bool:
        b = a + len(needle)
        before = a == 0 or not (text[a - 1].isalnum() and needle[0].isalnum())
        after = b == len(text) or not (text[b].isalnum() and needle[-1].isalnum())
        return before and after

    return ([a for a in found if whole(a)] if whole_words else []) or found


def _resolve(sent: str, spec, near: int | None, where: str) -> tuple[int, int]:
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], int):
        needle, k = spec
    elif isinstance(spec, str):
        needle, k = spec, None
    else:
        raise SheetError(f"{where}: a span is a string or [string, k], got {spec!r}")
    # [text, k] counts every occurrence, as a reader of the sentence sees them.
    found = _occurrences(sent, needle, whole_words=k is None)
    if not needle.strip() or not found:
        raise SheetError(f"{where}: {needle!r} is not in the sentence {sent[:80]!r}...")
    if needle != needle.strip():
        raise SheetError(f"{where}: {needle!r} starts or ends with whitespace")
    if k is not None:
        if not 1 <= k <= len(found):
            raise SheetError(f"{where}: {needle!r} occurs {len(found)} times, not {k}")
        at = found[k - 1]
    elif near is None:
        at = found[0]
    else:
        at = min(found, key=lambda a: abs(a - near))
    return at, at + len(needle)


def _parse_fixes(fixes: list, n: int) -> tuple[set[int], list[tuple[int, object]]]:
    # The merges (sentence i joins i+1) and the splits (sentence, quoted text) of a sheet, checked.
    merges, splits = set(), []
    for fix in fixes or []:
        if "merge" in fix:
            i = fix["merge"]
            if not (isinstance(i, int) and 0 <= i < n - 1):
                raise SheetError(f"sentence_fixes: cannot merge sentence {i!r} with the next one")
            merges.add(i)
        elif "split" in fix:
            i = fix["split"]
            if not (isinstance(i, int) and 0 <= i < n):
                raise SheetError(f"sentence_fixes: no sentence {i!r} to split")
            splits.append((i, fix.get("before")))
        else:
            raise SheetError(f"sentence_fixes: unknown fix {fix!r} (use merge or split)")
    return merges, splits


def _merged_groups(proposed: list[tuple[int, int]], merges: set[int]) -> list[tuple[int, int]]:
    # For each proposed sentence, the span of the group that merges join it into.
    out = list(proposed)
    for i in range(1, len(out)):
        if i - 1 in merges:
            out[i] = (out[i - 1][0], out[i][1])
    for i in range(len(out) - 2, -1, -1):
        if i in merges:
            out[i] = (out[i][0], out[i + 1][1])
    return out


def _final_sentences(text: str, proposed: list[tuple[int, int]], groups: list[tuple[int, int]],
                     splits: list[tuple[int, object]]) -> list[tuple[int, int]]:
    # Merges first, then splits, searched from sentence i's start to the end of its merged
    # group, so "merge 12, split 12 before 'The Freedom'" moves a boundary.
    cuts: set[int] = set()
    for i, needle in splits:
        s = proposed[i][0]
        a, _ = _resolve(text[s : groups[i][1]], needle, None, f"split of sentence {i}")
        if a == 0 and groups[i][0] == s:
            raise SheetError(f"sentence_fixes: split of sentence {i} at its very start")
        cuts.add(s + a)
    final: list[tuple[int, int]] = []
    for g_start, g_end in dict.fromkeys(groups):
        bounds = [g_start, *sorted(c for c in cuts if g_start < c < g_end), g_end]
        for a, b in zip(bounds, bounds[1:]):
            piece = text[a:b]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                final.append((a + lead, a + len(piece.rstrip())))
    return final


def compile_sheet(sheet: dict, article: dict) -> dict:
    """The stand-off line for one sheet (raises :class:`SheetError`)."""
    text = article["text"]
    proposed = propose_sentences(text)
    merges, splits = _parse_fixes(sheet.get("sentence_fixes", []), len(proposed))
    groups = _merged_groups(proposed, merges)
    placed: list[tuple[int, dict]] = []
    for n, ev in enumerate(sheet.get("events", [])):
        where = f"event {n} ({ev.get('type')})"
        i = ev.get("s")
        if not (isinstance(i, int) and 0 <= i < len(proposed)):
            raise SheetError(f"{where}: no sentence {i!r} (the article has {len(proposed)})")
        if ev.get("type") not in TYPE_NAMES:
            raise SheetError(f"{where}: unknown type; use one of {', '.join(TYPE_NAMES)}")
        mode = ev.get("mode")
        if mode is not None and mode not in MODES[ev["type"]]:
            allowed = ", ".join(MODES[ev["type"]]) or "none (null)"
            raise SheetError(f"{where}: mode {mode!r} is not a {ev['type']} mode; allowed: {allowed}")
        if ev.get("trigger") is None:
            raise SheetError(f"{where}: the trigger is required")
        # Spans are searched in the sentence's merged group (a merge brings the speaker of a quote in).
        s0, e0 = groups[i]
        sent = text[s0:e0]
        out = {"type": ev["type"], "mode": mode}
        offset = proposed[i][0] - s0
        trig = _resolve(text[proposed[i][0] : e0], ev["trigger"], None, f"{where} trigger")
        trig = (trig[0] + offset, trig[1] + offset)
        for role in ROLES:
            spec = ev.get(role)
            if spec is None:
                out[role] = None
                continue
            a, b = trig if role == "trigger" else _resolve(sent, spec, trig[0], f"{where} {role}")
            out[role] = [s0 + a, s0 + b]
        placed.append((n, out))
    final = _final_sentences(text, proposed, groups, splits)
    sentences = [{"start": s, "end": e, "events": []} for s, e in final]
    for n, ev in placed:
        home = sentence_at(final, ev["trigger"][0])
        s, e = final[home]
        for role in ROLES:
            if ev[role] is not None and not (s <= ev[role][0] and ev[role][1] <= e):
                raise SheetError(f"event {n} ({ev['type']}): its {role} falls outside its sentence after the fixes")
        sentences[home]["events"].append(ev)
    return {"corpus": corpus_of(article["id"]), "doc_id": article["id"], "annotator_pass": int(sheet.get("pass", 1)),
            "annotators": [sheet.get("annotator")] if sheet.get("annotator") else [], "sentences": sentences}


def _print_sheet(article: dict) -> None:
    text = article["text"]
    print(f"# {article['id']}  ({article.get('published')}; {article.get('category', corpus_of(article['id']))})")
    print(f"# title: {article.get('title')}")
    for i, (s, e) in enumerate(propose_sentences(text)):
        print(f"[{i}] {text[s:e]}")
    print()


def _show(line: dict, article: dict) -> None:
    text = article["text"]
    for i, sent in enumerate(line["sentences"]):
        for ev in sent["events"]:
            spans = {r: (text[ev[r][0] : ev[r][1]] if ev[r] else None) for r in ROLES}
            print(f"  [{i}] {ev['type']}/{ev['mode']}: " + "; ".join(f"{r}={v!r}" for r, v in spans.items() if v))


def _load_sheet(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as exc:
            raise SheetError(f"not valid JSON: {exc}") from exc


def _check(paths: list[str], corpus: str, show: bool) -> int:
    sheets = {}
    bad = 0
    for p in paths:
        try:
            sheets[p] = _load_sheet(p)
        except SheetError as exc:
            print(f"{p}: {exc}")
            bad += 1
    articles = load_articles(corpus, {s.get("doc_id") for s in sheets.values()})
    for p, sheet in sheets.items():
        try:
            line = compile_sheet(sheet, articles[sheet["doc_id"]])
            problems = validate([line], articles)
        except SheetError as exc:
            problems = [str(exc)]
        if problems:
            bad += 1
            for msg in problems:
                print(f"{p}: {msg}")
        else:
            n = sum(len(s["events"]) for s in line["sentences"])
            print(f"{p}: ok, {len(line['sentences'])} sentences, {n} events")
            if show:
                _show(line, articles[sheet["doc_id"]])
    print(f"{len(paths) - bad} ok, {bad} with problems")
    return 1 if bad else 0


def _compile(dirs: list[str], corpus: str, out: str) -> int:
    # The highest pass of each article wins; ties: the later directory. A verified line names
    # every annotator whose sheet of the article was read (the coder, then the verifier).
    best: dict[str, tuple[int, dict]] = {}
    who: dict[str, list[str]] = defaultdict(list)
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "*.json"))):
            sheet = _load_sheet(p)
            key, rank = sheet["doc_id"], int(sheet.get("pass", 1))
            if key not in best or rank >= best[key][0]:
                best[key] = (rank, sheet)
            if sheet.get("annotator") and sheet["annotator"] not in who[key]:
                who[key].append(sheet["annotator"])
    articles = load_articles(corpus, best.keys())
    splits: dict[str, list[dict]] = defaultdict(list)
    for doc_id, (_, sheet) in sorted(best.items()):
        line = compile_sheet(sheet, articles[doc_id])
        if line["annotator_pass"] == 2:
            line["annotators"] = who[doc_id]
        splits[split_of(doc_id)].append(line)
    os.makedirs(out, exist_ok=True)
    for split, lines in splits.items():
        problems = validate(lines, articles, split)
        if problems:
            print("\n".join(problems))
            return 1
        with open(os.path.join(out, f"{split}.jsonl"), "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        n = sum(len(line["sentences"]) for line in lines)
        print(f"{split}: {len(lines)} articles, {n} sentences")
    return 0


def agreement(a_lines: list[dict], b_lines: list[dict], articles: dict[str, dict]) -> dict:
    """Type, source and target F1 of coding B against coding A, on the articles both coded.

    Sentences are A's; B's events go to the A sentence holding their trigger.
    """
    b_by_id = {line["doc_id"]: line for line in b_lines}
    gold, pred = [], []
    docs = 0
    for a in a_lines:
        b = b_by_id.get(a["doc_id"])
        if b is None:
            continue
        docs += 1
        article = articles[a["doc_id"]]
        a_sents = list(gold_sentences(a, article))
        bounds = [(s.start, s.end) for s in a_sents]
        b_events: list[list] = [[] for _ in a_sents]
        for bs in gold_sentences(b, article):
            for ev, (at, _) in zip(bs.events, bs.triggers):
                k = sentence_at(bounds, at)
                if k is not None:
                    b_events[k].append(ev)
        gold += [list(s.events) for s in a_sents]
        pred += b_events
    return {"articles": docs, **score_events(gold, pred), **score_fields(gold, pred)}


def _candidates(ids: list[str], corpus: str, out: str) -> int:
    # The shipped model's events per proposed sentence: only a "might be missed" list for the second pass.
    from newsevents.models.evaluate import predict_sentences

    articles = load_articles(corpus, ids)
    os.makedirs(out, exist_ok=True)
    texts, keys = [], []
    for doc_id in ids:
        text = articles[doc_id]["text"]
        for i, (s, e) in enumerate(propose_sentences(text)):
            texts.append(text[s:e])
            keys.append((doc_id, i))
    predicted = predict_sentences(texts)
    per_doc: dict[str, list] = defaultdict(list)
    for (doc_id, i), events in zip(keys, predicted):
        for ev in events:
            per_doc[doc_id].append({"s": i, "type": ev.type, "trigger": ev.trigger, "source": ev.source,
                                    "target": ev.target})
    for doc_id in ids:
        with open(os.path.join(out, sheet_name(doc_id)), "w", encoding="utf-8") as fh:
            json.dump({"doc_id": doc_id, "model_candidates": per_doc[doc_id]}, fh, ensure_ascii=False, indent=1)
    print(f"{len(ids)} articles, {len(texts)} sentences")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsevents.models.news_annotate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("sheet", "check", "compile", "candidates", "agreement"):
        p = sub.add_parser(name)
        p.add_argument("--corpus", default="../shared/data/events/news", help="the shared news directory")
        p.add_argument("items", nargs="+")
        if name in ("compile", "candidates"):
            p.add_argument("--out", required=True)
        if name == "check":
            p.add_argument("--show", action="store_true", help="print each resolved event")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "sheet":
            for doc_id, article in load_articles(args.corpus, args.items).items():
                _print_sheet(article)
            return 0
        if args.cmd == "check":
            return _check(args.items, args.corpus, args.show)
        if args.cmd == "compile":
            return _compile(args.items, args.corpus, args.out)
        if args.cmd == "candidates":
            return _candidates(args.items, args.corpus, args.out)
        a, b = (read_annotations(p) for p in args.items)
        articles = load_articles(args.corpus, {line["doc_id"] for line in a + b})
        print(json.dumps(agreement(a, b, articles)))
        return 0
    except (OSError, ValueError) as exc:
        print(f"news_annotate: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
