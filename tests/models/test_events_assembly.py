"""Article-level event assembly: merging, ids, place and time (pure)."""

import datetime as dt

import pytest
from newsevents.models.assembly import assemble_events, event_id, lead_location
from newsevents.schemas.records import DocumentRecord, EntityMention, SentenceEvent

DOC = DocumentRecord("d", None, None, None, dt.datetime(2026, 3, 11, 9, tzinfo=dt.timezone.utc), "en",
                     500, 5, 4, 0, "pending")


def _ev(i, typ, src, tgt, location=None, time_text=None, conf=0.9):
    return SentenceEvent("d", i, i * 100, i * 100 + 50, typ, "trig", src, 0 if src else None, 5 if src else None,
                         "PER" if src else None, tgt, None, None, None, location, conf, "events.v1", time_text)


def test_identical_events_merge_and_count_mentions():
    rows = assemble_events(DOC, [_ev(0, "COERCE", None, "Pavel Durov", conf=0.8),
                                 _ev(3, "COERCE", None, "pavel  durov", conf=0.95),
                                 _ev(1, "ACCUSE", "Prosecutors", "Durov")], None, "ner.v1", "0.1.0")
    assert [(r.event_type, r.num_mentions, r.sentence_index) for r in rows] == [("COERCE", 2, 0), ("ACCUSE", 1, 1)]
    assert rows[0].confidence == 0.95 and rows[0].event_id == event_id("d", "COERCE", None, "Pavel Durov")
    assert rows[0].published == DOC.published and rows[0].pipeline_version == "0.1.0"


def test_place_falls_back_to_the_lead_and_actors_give_countries():
    rows = assemble_events(DOC, [_ev(0, "ASSAULT", "Rebels", None, location="Macomia"),
                                 _ev(2, "SANCTION", "Estonia", "Russia"),
                                 _ev(4, "CONSULT", "Ministers", None)], "Tallinn", "n", "v")
    assert [(r.location, r.country_code) for r in rows] == [("Macomia", "MOZ"), ("Tallinn", "EST"), ("Tallinn", "EST")]
    assert assemble_events(DOC, [_ev(2, "SANCTION", "Estonia", "Russia")], None, "n", "v")[0].country_code == "RUS"


def test_dates_resolve_against_published_and_earlier_events():
    rows = assemble_events(DOC, [_ev(0, "AGREE", "A", None, time_text="in 2018"),
                                 _ev(1, "REJECT", "B", None, time_text="two years later"),
                                 _ev(2, "PROTEST", "C", None, time_text="on Monday"),
                                 _ev(3, "AID", "D", None)], None, "n", "v")
    assert [r.event_date for r in rows] == [dt.date(2018, 1, 1), dt.date(2020, 1, 1), dt.date(2026, 3, 9),
                                            dt.date(2026, 3, 11)]
    assert [r.event_date_precision for r in rows] == ["year", "year", "day", "published"]


def test_lead_location_is_the_first_place_of_the_first_sentence():
    ms = [EntityMention("d", 1, "a", "Paris", "LOC", 80, 85, 0.9, "m"),
          EntityMention("d", 0, "b", "Kenya", "LOC", 40, 45, 0.9, "m"),
          EntityMention("d", 0, "c", "BRUSSELS", "LOC", 0, 8, 0.9, "m")]
    assert lead_location(ms) == "BRUSSELS" and lead_location([]) is None


@pytest.mark.parametrize("before, after, stated", [
    ("Police arrested him in ", " on Monday.", True),
    ("Protests spread across ", ".", True),
    ("fighting in the northern province of ", ".", True),
    ("", "'s request was approved.", False),          # a possessive modifies a noun
    ("to monitor ", " immigration.", False),         # a noun modifier
    ("the legality of the ", " war.", False),
    ("Tony Blair met ", " leaders.", False),         # no locative preposition
])
def test_a_sentence_location_is_a_place_introduced_as_where(before, after, stated):
    from newsevents.models.events import is_stated_place

    assert is_stated_place(before, after) is stated


def _sev(i, typ, src=None, tgt=None, time_text=None, sentence=None, src_start=None, src_label=None,
         tgt_label=None):
    return SentenceEvent("d", i, i * 100, i * 100 + 80, typ, "trig", src, src_start, None if src is None else
                         (src_start or 0) + len(src), src_label, tgt, None, None, tgt_label, None, 0.9, "events.v1",
                         time_text, sentence)


def test_events_without_actors_never_merge_across_sentences():
    rows = assemble_events(DOC, [_sev(0, "ASSAULT", time_text="on Monday"), _sev(2, "ASSAULT", time_text="in 2019")],
                           None, "n", "v")
    assert [(r.sentence_index, r.num_mentions) for r in rows] == [(0, 1), (2, 1)]
    assert len({r.event_id for r in rows}) == 2


def test_a_merged_event_keeps_its_first_mention_and_date():
    rows = assemble_events(DOC, [_sev(1, "COERCE", tgt="Pavel Durov", tgt_label="PER"),
                                 _sev(4, "COERCE", tgt="Durov", tgt_label="PER", time_text="in 2019")],
                           None, "n", "v", people=["Pavel Durov"])
    (row,) = rows
    assert (row.sentence_index, row.char_start, row.num_mentions) == (1, 100, 2)
    assert (row.event_date, row.event_date_precision, row.time_text) == (dt.date(2026, 3, 11), "published", None)


def test_generic_actors_are_case_folded_so_they_merge():
    rows = assemble_events(DOC, [_sev(0, "COERCE", src="Police", tgt="Pavel Durov", tgt_label="PER"),
                                 _sev(3, "COERCE", src="the police", tgt="Durov", tgt_label="PER")],
                           None, "n", "v", people=["Pavel Durov"])
    assert [(r.source_actor, r.target_actor, r.num_mentions) for r in rows] == [("police", "Pavel Durov", 2)]


def test_a_future_sentence_dates_forwards():
    (row,) = assemble_events(DOC, [_sev(0, "CONSULT", src="Scholz", src_label="PER", time_text="on Thursday",
                                        sentence="Scholz is scheduled to travel to Berlin on Thursday.")],
                             None, "n", "v")
    assert (row.event_date, row.event_date_precision) == (dt.date(2026, 3, 12), "day")


def _m(i, text, label, start):
    return EntityMention("d", i, f"m{start}", text, label, start, start + len(text), 0.9, "m")


def test_a_pronoun_actor_is_kept_and_flagged():
    named = [_m(0, "Pavel Durov", "PER", 10), _m(1, "Durov", "PER", 105)]
    (row,) = assemble_events(DOC, [_sev(1, "REJECT", src="He", src_start=140, tgt="Telegram", tgt_label="ORG")],
                             None, "n", "v", named=named)
    assert (row.source_text, row.source_actor, row.source_is_pronoun, row.target_is_pronoun) == (
        "He", "He", True, False)


def test_evidence_is_the_cleaned_sentence():
    (row,) = assemble_events(DOC, [_sev(0, "PROTEST", src="Workers", sentence="<p>Workers\u200b <b>marched</b>\n in Lagos.</p>")],
                             None, "n", "v")
    assert row.sentence_text == "Workers marched in Lagos."


def _chunk(text):
    import re

    from newsevents.schemas.records import Chunk

    spans = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text))
    return Chunk("d", 0, 0, 0, len(text), tuple(text[a:b] for a, b in spans), spans, 0, len(text), text)


def _places(text, *names, label="LOC"):
    return [EntityMention("d", 0, n, n, label, text.index(n), text.index(n) + len(n), 0.9, "m") for n in names]


@pytest.mark.parametrize("text, places, trigger, expected", [
    ("Police arrested him in Leeds after a shooting in Bradford.", ("Leeds", "Bradford"), "arrested", "Leeds"),
    # the place of another clause: a reporting verb, a subordinate event, a relative clause
    ("The US Embassy in London said police arrested two men.", ("London",), "arrested", None),
    ("Police arrested two men, minutes after the shooting in Christchurch.", ("Christchurch",), "arrested", None),
    ("Police arrested a man who had lived in Leeds.", ("Leeds",), "arrested", None),
    # too far from the trigger to be its place
    ("Rebels attacked the convoy and then, as the sun set over the hills, fled in Helmand.", ("Helmand",),
     "attacked", None),
    ("In Kabul, troops attacked a convoy.", ("Kabul",), "attacked", "Kabul"),
])
def test_the_event_location_is_the_stated_place_in_the_triggers_clause(text, places, trigger, expected):
    from newsevents.models.events import stated_location

    t = text.index(trigger)
    assert stated_location(_chunk(text), _places(text, *places), [], (t, t + len(trigger))) == expected


def test_a_venue_organisation_is_a_place_and_an_actor_never_is():
    from newsevents.models.events import stated_location

    text = "The lawsuit was filed in the High Court against Acme in Paris."
    t = text.index("filed")
    court = _places(text, "High Court", label="ORG") + _places(text, "Acme", label="ORG")
    assert stated_location(_chunk(text), court, [], (t, t + 5)) == "High Court"
    paris = _places(text, "Paris")
    assert stated_location(_chunk(text), paris, [(paris[0].char_start, paris[0].char_end)], (t, t + 5)) is None


# finish_article: the last step of a document, shared by the Assemble stage and the Python API.


def test_finish_article_fills_in_the_counts_and_merges_the_events():
    from newsevents.models.assembly import finish_article

    named = [_m(2, "Pavel Durov", "PER", 210), _m(0, "Tallinn", "LOC", 0), _m(0, "Riga", "LOC", 30)]
    doc, events = finish_article(DOC, 4, named, named, [_sev(3, "COERCE", tgt="Durov", tgt_label="PER"),
                                                        _sev(1, "COERCE", tgt="Pavel Durov", tgt_label="PER")],
                                 0, [], "ner.v1", "0.1.0")
    (event,) = events
    assert (doc.n_mentions, doc.n_events, doc.status, doc.notes) == (4, 1, "ok", [])
    assert (event.num_mentions, event.target_actor, event.location, event.location_source) == (
        2, "Pavel Durov", "Tallinn", "article")  # the lead's first place, whatever order the mentions came in
    assert (event.ner_model, event.pipeline_version) == ("ner.v1", "0.1.0")
    _, unmerged = finish_article(DOC, 4, named, named, [_sev(3, "COERCE", tgt="Durov", tgt_label="PER"),
                                                        _sev(1, "COERCE", tgt="Pavel Durov", tgt_label="PER")],
                                 0, [], "ner.v1", "0.1.0", merge=False)
    assert [e.sentence_index for e in unmerged] == [1, 3]


def test_finish_article_marks_a_document_with_lost_parts_partial():
    from newsevents.models.assembly import finish_article

    doc, events = finish_article(DOC, 2, [], [], [_sev(0, "PROTEST", src="Workers")], 1, ["b: two", "a: one"],
                                 "n", "v")
    assert (doc.status, doc.n_events, doc.notes) == ("partial", 1, ["a: one", "b: two"])
    # An event it cannot assemble (a lone surrogate cannot be hashed into its id) is dropped, the rest kept.
    doc, events = finish_article(DOC, 2, [], [], [_sev(0, "PROTEST", src="Workers\udfff"), _sev(1, "AID", src="EU")],
                                 0, [], "n", "v")
    assert (doc.status, doc.n_events, [e.event_type for e in events]) == ("partial", 1, ["AID"])
    (note,) = doc.notes
    assert note.startswith("events: the PROTEST event of sentence 0 was dropped: assembling it raised "
                           "UnicodeEncodeError")


def test_finish_article_makes_a_document_that_raises_an_assemble_dead_letter(monkeypatch):
    import newsevents.models.assembly as assembly
    from newsevents.schemas.records import DeadLetter
    from newsevents.schemas.rows import row_payload

    def broken(*args, **kwargs):
        raise KeyError("planted")

    monkeypatch.setattr(assembly, "finish_document", broken)
    dead = assembly.finish_article(DOC, 0, [], [], [_sev(0, "PROTEST", src="Workers")], 0, [], "n", "v")
    assert isinstance(dead, DeadLetter)
    assert (dead.stage, dead.reason, dead.doc_id, dead.payload) == ("assemble", "internal_error", "d", row_payload(DOC))
    assert "Assembling the document failed unexpectedly: KeyError: 'planted' (tests/models/" in dead.error


def test_unwritable_names_the_record_and_why():
    from newsevents.models.assembly import Dropped, unwritable

    assert unwritable(_m(0, "Lagos", "LOC", 9), "entities") is None
    dropped = unwritable(_m(0, "Jean\udfffPierre", "PER", 20), "entities")
    assert isinstance(dropped, Dropped) and dropped.doc_id == "d"
    assert dropped.note.startswith("entities: the PER mention at characters 20-31 was dropped: its row does not fit "
                                   "the table (UnicodeEncodeError")
