"""The benchmark command in a tiny configuration, so it cannot rot."""

from __future__ import annotations

import json

from newsevents.benchmarks.generate import generate_articles
from newsevents.benchmarks.run import main


def test_generator_is_deterministic_with_realistic_lengths():
    a, b = generate_articles(60, seed=3), generate_articles(60, seed=3)
    assert a == b and a != generate_articles(60, seed=4)
    words = sorted(len(x["text"].split()) for x in a)
    assert words[0] < 300 and words[-1] > 1500  # briefs and long features both occur
    assert sum(300 <= w <= 1600 for w in words) >= 0.7 * len(words)
    assert len({x["id"] for x in a}) == 60


def test_tiny_benchmark_measures_every_mode_side_by_side(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--articles", "2", "--device", "cpu", "--out", str(out), "--results-dir", str(tmp_path),
                 "--curve", "2", "--workers", "2"]) == 0
    result = json.loads(out.read_text())
    assert result == json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["articles"] == 2 and result["sentences"] > 0 and result["tokens"] > result["sentences"]
    for mode in ("limit", "pipeline", "naive"):
        r = result[mode]
        assert r["seconds"] > 0 and r["sentences_per_s"] > 0 and r["tokens_per_s"] > 0
        assert 100 < r["peak_rss_mb"] < 8000
    assert result["pipeline"]["documents"] == 2
    assert 0 < result["pipeline_vs_limit"] and 0 < result["pipeline_vs_naive"]
    table = (tmp_path / "cpu-fp32-2.md").read_text()
    assert "| pipeline |" in table and "pipeline_vs_naive" in table
    # The cost curve: a one-article run for the start-up, the two-article point is the pipeline run itself.
    assert result["startup_s"] > 0 and [p["articles"] for p in result["curve"]] == [2]
    assert result["curve"][0]["seconds"] == result["pipeline"]["seconds"]
    assert "| 2 |" in table and "![articles/s against articles](cpu-fp32-2-curve.png)" in table
    assert (tmp_path / "cpu-fp32-2-curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Two DirectRunner worker processes ran the same articles and wrote every document.
    assert result["workers"]["2"]["documents"] == 2 and "| 2 workers |" in table
    assert json.loads((tmp_path / "cpu-fp32-2.json").read_text()) == result


def test_cost_curve_is_marginal_after_the_start_up():
    from newsevents.benchmarks.run import cost_curve

    points = cost_curve({1: 12.0, 10: 21.0, 100: 111.0})
    assert [p["articles_per_s"] for p in points] == [0.48, 0.9]
    assert [p["amortised_articles_per_s"] for p in points] == [1.0, 1.0]
