"""A deterministic generator of benchmark articles with realistic lengths.

Articles are built from the team's own news-style sentences (the event training
data shipped with the package), so the models see text like the real thing.
Lengths follow wire copy: a few short briefs, mostly 300 to 1,500 words, a few
very long features; paragraphs of two to five sentences.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

__all__ = ["generate_articles", "write_articles"]

_SENTENCES = Path(__file__).resolve().parent.parent / "models" / "data" / "events" / "train.jsonl"

# (share of articles, fewest words, most words)
LENGTHS = ((0.08, 40, 200), (0.86, 300, 1500), (0.06, 2500, 6000))


def _sentences() -> list[str]:
    with open(_SENTENCES, encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def _target_words(rng: random.Random) -> int:
    r = rng.random()
    for share, low, high in LENGTHS:
        if r < share:
            return rng.randint(low, high)
        r -= share
    return rng.randint(LENGTHS[-1][1], LENGTHS[-1][2])


def generate_articles(n: int, seed: int = 7) -> list[dict]:
    """``n`` article records (``id``, ``title``, ``text``, ``published``), the same for the same seed."""
    rng = random.Random(seed)
    pool = _sentences()
    start = dt.date(2026, 1, 1)
    articles = []
    for i in range(n):
        target, words, paragraphs = _target_words(rng), 0, []
        while words < target:
            para = [rng.choice(pool) for _ in range(rng.randint(2, 5))]
            paragraphs.append(" ".join(para))
            words += sum(len(s.split()) for s in para)
        title = " ".join(paragraphs[0].split()[:8])
        published = (start + dt.timedelta(days=rng.randrange(300))).isoformat()
        articles.append({"id": f"bench-{i:05d}", "title": title, "text": "\n\n".join(paragraphs),
                         "published": published})
    return articles


def write_articles(path: str | Path, n: int, seed: int = 7) -> Path:
    """Write ``generate_articles(n, seed)`` as JSON Lines to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for a in generate_articles(n, seed):
            fh.write(json.dumps(a, ensure_ascii=False) + "\n")
    return path
