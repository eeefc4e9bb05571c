"""Event scores on small hand-made gold/pred lists, every expected number worked out by hand.

Each case is built so that one rule of ``models.event_scoring`` changes the numbers: roles only
count on an event of the right type, one gold event serves one prediction, several gold events of
one type share a sentence, empty sentences still count, actors match by head word, and F1 is the
harmonic mean (per-type precision differs from recall, so (P+R)/2 would show). Scores are rounded
to 4 places by the module, so the expected values are the exact fractions rounded the same way.
"""

from __future__ import annotations

import pytest
from newsevents.models.event_data import GoldEvent as E
from newsevents.models.event_scoring import actors_match, head_word, score_events, score_fields


def test_head_word_is_the_last_word_lowercased_without_possessive():
    assert head_word("CEO Pavel Durov") == "durov"
    assert head_word("the French PROSECUTORS") == "prosecutors"
    assert head_word("Telegram’s") == "telegram" and head_word("Telegram's") == "telegram"
    # An apostrophe inside a word keeps the word whole; a possessive only goes at the end.
    assert head_word("Conan O'Brien") == "o'brien"
    assert head_word("the boss's") == "boss"
    # Punctuation and underscores are not words.
    assert head_word("Durov, Pavel.") == "pavel"
    assert head_word("rock_star") == "star"
    assert head_word("") is None and head_word(" ,.!_ ") is None


def test_actors_match_when_either_contains_the_other_head_word():
    assert actors_match("Durov", "CEO Pavel Durov")  # gold head in the prediction
    assert actors_match("CEO Pavel Durov", "Durov")  # prediction head in the gold
    assert actors_match("police", "the police officers")  # only the predicted head is inside
    assert actors_match("the police officers", "police")  # only the gold head is inside
    assert actors_match("DUROV", "durov")
    assert actors_match("Telegram’s lawyers", "the lawyers")
    assert actors_match("Telegram’s", "Telegram") and actors_match("Telegram's", "Telegram")
    # The possessive goes from every word, not only the head: the gold head is a modifier here.
    assert actors_match("Telegram’s lawyers", "Telegram") and actors_match("the Telegram's lawyers", "Telegram")
    assert not actors_match("French prosecutors", "Telegram")
    assert not actors_match("Durovs", "Durov")  # whole words, not substrings
    # "Passive, no agent" read as no agent is right; a missing or an extra actor is wrong.
    assert actors_match(None, None)
    assert not actors_match("Telegram", None) and not actors_match(None, "Telegram")
    # A phrase without a word has no head and matches nothing, not even itself.
    assert not actors_match("", "Durov") and not actors_match("Durov", "") and not actors_match("...", "...")


def test_a_wrong_type_with_the_right_actors_scores_no_role():
    gold = [[E("ACCUSE", source="prosecutors", target="Durov")], [E("COERCE", source="police", target="Durov")]]
    pred = [[E("COERCE", source="prosecutors", target="Durov")], [E("COERCE", source="police", target="Durov")]]
    s = score_events(gold, pred)
    # types: sentence 1 {COERCE} vs {ACCUSE} is a miss, sentence 2 a hit -> tp 1 of 2 predicted, 2 gold.
    assert (s["type_precision"], s["type_recall"], s["type_f1"]) == (0.5, 0.5, 0.5)
    # roles: only sentence 2's COERCE counts (sentence 1's actors sit on the wrong type) -> 1/2, 1/2.
    assert (s["source_f1"], s["target_f1"]) == (0.5, 0.5)
    # COERCE: tp 1, 2 predicted, 1 gold -> P 1/2, R 1 -> F1 2/3 (not the mean 3/4); ACCUSE: never predicted.
    assert s["per_type_f1"] == {"ACCUSE": 0.0, "COERCE": round(2 / 3, 4)}
    assert (s["sentences"], s["gold_events"], s["predicted_events"]) == (2, 2, 2)


def test_wrong_type_only_scores_zero_everywhere():
    s = score_events([[E("ACCUSE", source="prosecutors", target="Durov")]],
                     [[E("COERCE", source="prosecutors", target="Durov")]])
    assert s == {"type_precision": 0.0, "type_recall": 0.0, "type_f1": 0.0, "source_f1": 0.0, "target_f1": 0.0,
                 "per_type_f1": {"ACCUSE": 0.0, "COERCE": 0.0}, "sentences": 1, "gold_events": 1,
                 "predicted_events": 1}


def test_two_predictions_compete_for_one_gold_event():
    gold = [[E("COERCE", source="police", target="Durov")]]
    pred = [[E("COERCE", source="police", target="Durov"), E("COERCE", source="the police", target="Pavel Durov")]]
    s = score_events(gold, pred)
    # types are a set per sentence: {COERCE} vs {COERCE} -> 1/1, 1/1.
    assert (s["type_precision"], s["type_recall"], s["type_f1"]) == (1.0, 1.0, 1.0)
    assert s["per_type_f1"] == {"COERCE": 1.0}
    # roles count events: the gold event serves the first prediction only -> tp 1 of 2 predicted, 1 gold
    # -> P 1/2, R 1 -> F1 2/3 (reusing the gold would give tp 2 and a recall of 2).
    assert s["source_f1"] == round(2 / 3, 4) and s["target_f1"] == round(2 / 3, 4)
    assert (s["gold_events"], s["predicted_events"]) == (1, 2)


def test_several_gold_events_in_one_sentence_including_two_of_one_type():
    gold = [[E("COERCE", source="police", target="protesters"),
             E("COERCE", source="soldiers", target="journalists"),
             E("ACCUSE", source="Amnesty", target="the government")]]
    pred = [[E("COERCE", source="the soldiers", target="students"),
             E("ACCUSE", source="Amnesty International", target="government")]]
    s = score_events(gold, pred)
    # types: {COERCE, ACCUSE} both sides -> 2/2, 2/2.
    assert (s["type_precision"], s["type_recall"], s["type_f1"]) == (1.0, 1.0, 1.0)
    # source: "the soldiers" skips the first COERCE (police) and takes the second; Amnesty matches
    # -> tp 2 of 2 predicted, 3 gold -> P 1, R 2/3 -> F1 4/5.
    assert s["source_f1"] == 0.8
    # target: "students" is no COERCE target, "government" is ACCUSE's -> tp 1 -> P 1/2, R 1/3 -> F1 2/5.
    assert s["target_f1"] == 0.4
    assert s["per_type_f1"] == {"ACCUSE": 1.0, "COERCE": 1.0}
    assert (s["sentences"], s["gold_events"], s["predicted_events"]) == (1, 3, 2)


def test_a_prediction_takes_the_first_unused_gold_event_its_actor_matches():
    gold = [[E("COERCE", source="police"), E("COERCE", source="police"), E("COERCE", source="army")]]
    pred = [[E("COERCE", source="police"), E("COERCE", source="police"), E("COERCE", source="police")]]
    # Two gold "police" serve two predictions; the third finds only "army" -> tp 2 of 3, 3 -> F1 2/3.
    # Targets are all None on both sides, so each prediction takes one gold event -> tp 3 -> F1 1.
    s = score_events(gold, pred)
    assert s["source_f1"] == round(2 / 3, 4) and s["target_f1"] == 1.0


def test_empty_gold_and_empty_predicted_sentences_count():
    gold = [[], [E("ASSAULT", source="gunmen", target="villagers")], [], [E("PROTEST", source="students")], []]
    pred = [[E("AGREE")], [], [], [E("PROTEST", source="the students")], [E("AID", source="UN")]]
    s = score_events(gold, pred)
    # types: hits PROTEST only -> tp 1 of 3 predicted, 2 gold -> P 1/3, R 1/2 -> F1 2/5.
    assert (s["type_precision"], s["type_recall"], s["type_f1"]) == (round(1 / 3, 4), 0.5, 0.4)
    # roles: PROTEST's source matches and its null target matches null -> tp 1 of 3, 2 -> F1 2/5 both.
    # AGREE's null actors meet no gold event in an empty sentence, so they do not count.
    assert (s["source_f1"], s["target_f1"]) == (0.4, 0.4)
    assert s["per_type_f1"] == {"AGREE": 0.0, "AID": 0.0, "ASSAULT": 0.0, "PROTEST": 1.0}
    assert (s["sentences"], s["gold_events"], s["predicted_events"]) == (5, 2, 3)


def test_nothing_to_score_gives_zeros_not_a_division_error():
    assert score_events([[], []], [[], []]) == {
        "type_precision": 0.0, "type_recall": 0.0, "type_f1": 0.0, "source_f1": 0.0, "target_f1": 0.0,
        "per_type_f1": {}, "sentences": 2, "gold_events": 0, "predicted_events": 0}
    # Only gold: recall 0, precision 0 (nothing predicted); only predictions: the same.
    only_gold = score_events([[E("AID", source="UN")]], [[]])
    only_pred = score_events([[]], [[E("AID", source="UN")]])
    for s in (only_gold, only_pred):
        assert (s["type_precision"], s["type_recall"], s["type_f1"], s["source_f1"]) == (0.0, 0.0, 0.0, 0.0)
        assert s["per_type_f1"] == {"AID": 0.0}
    assert (only_gold["gold_events"], only_gold["predicted_events"]) == (1, 0)
    assert (only_pred["gold_events"], only_pred["predicted_events"]) == (0, 1)


def test_actors_are_matched_by_head_word_in_scores():
    gold = [[E("COERCE", source="French police", target="CEO Pavel Durov")],
            [E("ACCUSE", source="prosecutors", target="Telegram")]]
    pred = [[E("COERCE", source="police officers", target="DUROV")],
            [E("ACCUSE", source="prosecutor", target="Telegram’s")]]
    s = score_events(gold, pred)
    # sources: "police" is the gold head and a word of "police officers" -> hit; "prosecutor" is not
    # "prosecutors" -> miss: tp 1 of 2, 2 -> 1/2. targets: DUROV and Telegram’s both hit -> 1.
    assert (s["source_f1"], s["target_f1"]) == (0.5, 1.0)


def test_per_type_precision_and_recall_differ_and_f1_is_their_harmonic_mean():
    gold = [[E("COERCE")], [E("COERCE")], [E("COERCE")], [E("ASSAULT")], []]
    pred = [[E("COERCE")], [E("ASSAULT")], [], [E("ASSAULT")], [E("ASSAULT")]]
    s = score_events(gold, pred)
    # COERCE: tp 1, 1 predicted, 3 gold -> P 1, R 1/3 -> F1 1/2 (the mean would be 2/3).
    # ASSAULT: tp 1, 3 predicted, 1 gold -> P 1/3, R 1 -> F1 1/2.
    assert s["per_type_f1"] == {"ASSAULT": 0.5, "COERCE": 0.5}
    # overall: tp 2 of 4 predicted, 4 gold -> 1/2 each.
    assert (s["type_precision"], s["type_recall"], s["type_f1"]) == (0.5, 0.5, 0.5)
    # type_f1 exactly, on a case whose P and R differ: tp 1 of 1 predicted, 2 gold -> P 1, R 1/2 -> F1 2/3.
    t = score_events([[E("COERCE")], [E("AID")]], [[E("COERCE")], []])
    assert (t["type_precision"], t["type_recall"]) == (1.0, 0.5)
    assert t["type_f1"] == pytest.approx(round(2 / 3, 4), abs=1e-12) and t["type_f1"] == 0.6667
    # P 2/3, R 1/2 -> F1 = 2 * (1/3) / (7/6) = 4/7.
    v = score_events([[E("COERCE"), E("AID")], [E("AGREE")], [E("ASSAULT")]],
                     [[E("COERCE"), E("AID")], [E("PROTEST")], []])
    assert (v["type_precision"], v["type_recall"], v["type_f1"]) == (round(2 / 3, 4), 0.5, round(4 / 7, 4))
    # P 1, R 1/3 -> F1 1/2; the recall is rounded like the precision.
    w = score_events([[E("COERCE")], [E("AID")], [E("AGREE")]], [[E("COERCE")], [], []])
    assert (w["type_precision"], w["type_recall"], w["type_f1"]) == (1.0, round(1 / 3, 4), 0.5)


def test_gold_and_predictions_of_different_lengths_are_refused():
    with pytest.raises(ValueError):
        score_events([[], []], [[]])
    with pytest.raises(ValueError):
        score_fields([[]], [[], []])


def test_fields_pair_a_prediction_with_the_gold_event_of_its_source():
    gold = [[E("COERCE", source="police", location="Lagos", time="on Monday", mode="arrest"),
             E("COERCE", source="soldiers", location="Abuja", time="on Friday", mode="deport")]]
    pred = [[E("COERCE", source="the soldiers", location="in Abuja", time="Friday", mode="arrest")]]
    f = score_fields(gold, pred)
    # The prediction pairs with the soldiers' event (not the first COERCE): its place and time match
    # -> tp 1 of 1 predicted, 2 gold -> P 1, R 1/2 -> F1 2/3; its mode "arrest" is not "deport" -> 0/1.
    assert f == {"location_f1": round(2 / 3, 4), "time_f1": round(2 / 3, 4), "mode_accuracy": 0.0,
                 "per_type_mode_accuracy": {"COERCE": 0.0}, "per_type_mode_count": {"COERCE": 1}}


def test_fields_without_a_source_match_pair_with_the_first_unused_gold_of_the_type():
    gold = [[E("COERCE", source="police", location="Lagos", mode="arrest"),
             E("COERCE", source="soldiers", location="Abuja", mode="deport")]]
    pred = [[E("COERCE", source="the army", location="Abuja", mode="deport"),
             E("COERCE", source="the navy", location="Lagos", mode="arrest")]]
    f = score_fields(gold, pred)
    # No source matches, so the army's event takes gold 1 (Lagos, arrest) and the navy's takes gold 2
    # (Abuja, deport): both places and both modes are wrong -> location 0, modes 0/2.
    assert f["location_f1"] == 0.0 and f["mode_accuracy"] == 0.0 and f["per_type_mode_count"] == {"COERCE": 2}
    # Gold 1 is used by the first prediction even though the second one's source matches it.
    g = score_fields([[E("COERCE", source="police", location="Lagos"), E("COERCE", source="army", location="Abuja")]],
                     [[E("COERCE", source="navy", location="Abuja"), E("COERCE", source="police", location="Lagos")]])
    assert g["location_f1"] == 0.0


def test_fields_two_predictions_compete_for_one_gold_event():
    gold = [[E("ASSAULT", location="Kabul", time="yesterday", mode="firearms")]]
    pred = [[E("ASSAULT", location="Kabul", time="yesterday", mode="firearms"),
             E("ASSAULT", location="Kabul", time="yesterday", mode="aerial")]]
    f = score_fields(gold, pred)
    # The gold event pairs once: tp 1 of 2 predicted, 1 gold -> P 1/2, R 1 -> F1 2/3; mode 1/1.
    assert f == {"location_f1": round(2 / 3, 4), "time_f1": round(2 / 3, 4), "mode_accuracy": 1.0,
                 "per_type_mode_accuracy": {"ASSAULT": 1.0}, "per_type_mode_count": {"ASSAULT": 1}}


def test_fields_on_the_wrong_type_do_not_count():
    gold = [[E("ASSAULT", source="gunmen", location="Kabul", time="on Friday", mode="firearms")]]
    pred = [[E("COERCE", source="gunmen", location="Kabul", time="on Friday", mode="firearms")]]
    f = score_fields(gold, pred)
    assert f == {"location_f1": 0.0, "time_f1": 0.0, "mode_accuracy": 0.0, "per_type_mode_accuracy": {},
                 "per_type_mode_count": {}}
    # A prediction of a type gold lacks does not stop the ones after it from pairing: of 2 predicted
    # places, 1 gold, 1 right -> P 1/2, R 1 -> F1 2/3.
    f = score_fields(gold, [pred[0] + [E("ASSAULT", location="Kabul", mode="firearms")]])
    assert (f["location_f1"], f["time_f1"], f["mode_accuracy"]) == (round(2 / 3, 4), 0.0, 1.0)


def test_field_counts_missing_and_extra_values_and_micro_averages_modes():
    gold = [[E("COERCE", location="Lagos", mode="arrest"), E("ASSAULT", time="at dawn", mode="firearms")],
            [E("COERCE", location="Accra", time="on Monday", mode="arrest")],
            [E("AID", location="Gaza")],
            [],
            [E("PROTEST", location="Paris", time="Sunday")]]
    pred = [[E("COERCE", location="Lagos", mode="arrest"), E("ASSAULT", location="Kabul", mode="firearms")],
            [E("COERCE", location="Accra", time="Monday", mode="deport")],
            [E("AID", location="Gaza")],
            [E("AGREE", location="Geneva", time="today")],
            [E("PROTEST", location="Paris", time="last week")]]
    f = score_fields(gold, pred)
    # location: predicted 6 (Lagos, Kabul, Accra, Gaza, Geneva, Paris), gold 4 (Lagos, Accra, Gaza, Paris);
    # right 4 (ASSAULT's Kabul has no gold place) -> P 2/3, R 1 -> F1 4/5.
    assert f["location_f1"] == 0.8
    # time: predicted 3 (Monday, today, last week), gold 3 (at dawn, on Monday, Sunday); right 1
    # (Monday; "last week" is not "Sunday") -> P 1/3, R 1/3 -> F1 1/3.
    assert f["time_f1"] == round(1 / 3, 4)
    # modes over pairs whose gold has one: COERCE arrest/arrest, arrest/deport -> 1/2; ASSAULT 1/1.
    # Overall 2/3 (micro), not the mean of the types' 3/4. AID and PROTEST have no gold mode.
    assert f["mode_accuracy"] == round(2 / 3, 4)
    assert f["per_type_mode_accuracy"] == {"ASSAULT": 1.0, "COERCE": 0.5}
    assert f["per_type_mode_count"] == {"ASSAULT": 1, "COERCE": 2}


def test_mode_accuracy_is_rounded_to_four_places():
    gold = [[E("COERCE", mode="arrest")], [E("COERCE", mode="arrest")], [E("COERCE", mode="arrest")]]
    pred = [[E("COERCE", mode="arrest")], [E("COERCE", mode="seize")], [E("COERCE")]]
    f = score_fields(gold, pred)
    # 1 right of 3 gold modes; a missing predicted mode is wrong, not skipped.
    assert (f["mode_accuracy"], f["per_type_mode_accuracy"], f["per_type_mode_count"]) == (
        0.3333, {"COERCE": 0.3333}, {"COERCE": 3})


def test_a_predicted_mode_without_a_gold_mode_is_not_scored():
    f = score_fields([[E("AID", location="Gaza")]], [[E("AID", location="Gaza", mode="seize")]])
    assert f == {"location_f1": 1.0, "time_f1": 0.0, "mode_accuracy": 0.0, "per_type_mode_accuracy": {},
                 "per_type_mode_count": {}}


def test_fields_with_nothing_to_score_are_zero():
    assert score_fields([[], []], [[], []]) == {"location_f1": 0.0, "time_f1": 0.0, "mode_accuracy": 0.0,
                                                "per_type_mode_accuracy": {}, "per_type_mode_count": {}}
