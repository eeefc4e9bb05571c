"""Event data alignment, role decoding and scoring, without a model.

Role decoding keeps the best-scoring span of each role when several are tagged; type and mode
selection are pinned at and around their thresholds and ties.
"""

import numpy as np
import pytest
from newsevents.models.decoding import best_spans_per_type, select_mode, select_types
from newsevents.models.event_data import ROLE_LABELS, GoldEvent, read_gold, role_tags, sentence_words, type_prompt
from newsevents.models.event_scoring import actors_match, head_word, score_events


def test_role_tags_align_spans_to_words_near_the_trigger():
    text = "Police in Paris said police arrested Durov in Paris."
    words, spans = sentence_words(text)
    ev = GoldEvent("COERCE", trigger="arrested", source="police", target="Durov", location="Paris")
    tags = role_tags(text, [ev], spans)
    assert [(w, t) for w, t in zip(words, tags) if t != "O"] == [("police", "B-SRC"), ("arrested", "B-TRG"),
                                                                ("Durov", "B-TGT")]


def test_role_tags_multiword_and_missing_spans():
    text = "French prosecutors charged the former CEO on Monday."
    _, spans = sentence_words(text)
    tags = role_tags(text, [GoldEvent("ACCUSE", "charged", "French prosecutors", "the former CEO"),
                            GoldEvent("ACCUSE", None, "nowhere to be found", None)], spans)
    assert tags[:6] == ["B-SRC", "I-SRC", "B-TRG", "B-TGT", "I-TGT", "I-TGT"]


def test_best_span_per_role_and_type_selection():
    probs = np.zeros((4, len(ROLE_LABELS)))
    probs[0, ROLE_LABELS.index("B-SRC")] = 1
    probs[1, ROLE_LABELS.index("B-TRG")] = 1
    probs[2, ROLE_LABELS.index("B-TGT")] = 0.6
    probs[2, 0] = 0.4
    probs[3, 0] = 1
    best = best_spans_per_type(probs, ROLE_LABELS)
    assert {k: (v.start, v.end) for k, v in best.items()} == {"SRC": (0, 1), "TRG": (1, 2), "TGT": (2, 3)}
    assert select_types(np.array([0.2, 0.7, 0.5]), ["A", "B", "C"], 0.5) == [("B", 0.7), ("C", 0.5)]


def _role_probs(rows):
    # rows: one {label: probability} per word, the rest of the mass on "O"
    probs = np.zeros((len(rows), len(ROLE_LABELS)))
    for k, row in enumerate(rows):
        for lab, p in row.items():
            probs[k, ROLE_LABELS.index(lab)] = p
        probs[k, 0] = 1 - sum(row.values())
    return probs


def test_role_span_is_the_best_of_two_candidates_not_the_first():
    # "Police detained the protester, a student" style: two target candidates, the second surer.
    probs = _role_probs([{"B-SRC": 0.9}, {"B-TRG": 0.95}, {"B-TGT": 0.55}, {}, {"B-TGT": 0.8}, {"I-TGT": 0.9},
                         {"B-SRC": 0.6}])
    best = best_spans_per_type(probs, ROLE_LABELS)
    assert {k: (v.start, v.end) for k, v in best.items()} == {"SRC": (0, 1), "TRG": (1, 2), "TGT": (4, 6)}
    assert best["TGT"].score == pytest.approx(0.85)
    assert best["SRC"].score == pytest.approx(0.9)


def test_select_types_threshold_is_inclusive_at_the_boundary():
    below = np.nextafter(0.5, 0.0)
    above = np.nextafter(0.5, 1.0)
    assert select_types(np.array([0.5, below, above]), ["A", "B", "C"], 0.5) == [("A", 0.5), ("C", above)]
    per_type = {"B": below, "C": 0.6}
    assert select_types(np.array([0.5, below, above]), ["A", "B", "C"], 0.5, per_type) == [("A", 0.5), ("B", below)]
    assert select_types(np.array([0.3, 0.2]), ["A", "B"], 0.5, {}) == []
    assert all(type(p) is float for _, p in select_types(np.array([0.9], dtype=np.float32), ["A"], 0.5))


def test_type_prompts_name_the_type_and_its_triggers():
    assert type_prompt("COERCE")[:3] == ["coerce", ":", "arrest"]


def test_head_word_matching_rule():
    assert head_word("the French prosecutors") == "prosecutors"
    assert actors_match("Durov", "CEO Pavel Durov") and actors_match("CEO Pavel Durov", "Durov")
    assert actors_match(None, None) and not actors_match("Telegram", None)
    assert not actors_match("French prosecutors", "Telegram")


def test_score_events_types_and_actors():
    gold = [[GoldEvent("COERCE", source=None, target="Pavel Durov")], [], [GoldEvent("ACCUSE", source="prosecutors")]]
    pred = [[GoldEvent("COERCE", source=None, target="Durov")], [GoldEvent("AGREE")],
            [GoldEvent("ACCUSE", source="Telegram")]]
    s = score_events(gold, pred)
    assert (s["type_precision"], s["type_recall"]) == (0.6667, 1.0)
    assert s["target_f1"] == 0.8  # COERCE target right, ACCUSE target (null) right, AGREE wrong
    assert s["source_f1"] == 0.4


def test_team_data_is_well_formed():
    from newsevents.models.event_data import DATA_DIR

    for split in ("train", "dev"):
        sentences = read_gold(DATA_DIR / f"{split}.jsonl")
        assert sentences and all(s.text for s in sentences)
        for s in sentences:
            for e in s.events:
                for span in (e.trigger, e.source, e.target, e.location, e.time):
                    assert span is None or span in s.text
    train = {s.text for s in read_gold(DATA_DIR / "train.jsonl")}
    assert not train & {s.text for s in read_gold(DATA_DIR / "dev.jsonl")}


def test_per_type_thresholds_override_the_global_one():
    import numpy as np
    from newsevents.models.decoding import select_types

    probs = np.array([0.45, 0.35, 0.25])
    names = ["AID", "AGREE", "ASSAULT"]
    assert [t for t, _ in select_types(probs, names, 0.4)] == ["AID"]
    assert [t for t, _ in select_types(probs, names, 0.4, {"AGREE": 0.3, "AID": 0.5})] == ["AGREE"]


def test_mode_is_the_best_allowed_one_or_none():
    import numpy as np
    from newsevents.models.decoding import select_mode

    labels = ["none", "arrest", "firearms", "aerial"]
    probs = np.array([0.1, 0.5, 0.3, 0.1])
    assert select_mode(probs, labels, ("firearms", "aerial")) == "firearms"  # "arrest" is not an ASSAULT mode
    assert select_mode(probs, labels, ("arrest",)) == "arrest"
    assert select_mode(np.array([0.4, 0.1, 0.3, 0.2]), labels, ("firearms", "aerial")) is None
    assert select_mode(probs, labels, ()) is None


def test_mode_ties_go_to_no_mode_then_to_the_first_label():
    labels = ["none", "arrest", "firearms", "aerial"]
    assert select_mode(np.array([0.4, 0.0, 0.4, 0.2]), labels, ("firearms", "aerial")) is None
    assert select_mode(np.array([0.2, 0.0, 0.4, 0.4]), labels, ("firearms", "aerial")) == "firearms"
    assert select_mode(np.array([0.2, 0.0, 0.4, 0.4]), labels, ("aerial", "firearms")) == "firearms"
    # "no mode" is never returned by name, even when the caller lists it
    assert select_mode(np.array([0.7, 0.1, 0.1, 0.1]), labels, ("none", "arrest")) is None


def test_field_scores_count_place_time_and_mode_on_type_matched_events():
    from newsevents.models.event_data import GoldEvent
    from newsevents.models.event_scoring import score_fields

    gold = [[GoldEvent("COERCE", "arrested", "Police", "him", "Lagos", "on Friday", "arrest")],
            [GoldEvent("ASSAULT", "shot", None, None, None, "yesterday", "firearms")]]
    pred = [[GoldEvent("COERCE", "arrested", "police", "him", "in Lagos", None, "arrest")],
            [GoldEvent("ACCUSE", "shot", None, None, "Kabul", "yesterday", "allege")]]
    sc = score_fields(gold, pred)
    # location: 1 right of 2 predicted, 1 gold -> P 0.5 R 1; time: 0 right (wrong type) of 1 predicted, 2 gold
    assert sc["location_f1"] == round(2 * 0.5 * 1 / 1.5, 4) and sc["time_f1"] == 0.0
    assert sc["mode_accuracy"] == 1.0 and sc["per_type_mode_count"] == {"COERCE": 1}
