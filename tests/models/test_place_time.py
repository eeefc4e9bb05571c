"""Country codes and date resolution, the cases the events table depends on."""

import datetime as dt

import pytest
from newsevents.models.place_time import country_code, find_time, is_future, resolve_time, resolve_when

PUBLISHED = dt.date(2026, 3, 11)  # a Wednesday


@pytest.mark.parametrize(
    "name, code",
    [("France", "FRA"), ("the Netherlands", "NLD"), ("Russia", "RUS"), ("U.S.", "USA"), ("United Kingdom", "GBR"),
     ("Ivory Coast", "CIV"), ("Paris", "FRA"), ("Nairobi", "KEN"), ("Texas", "USA"), ("Narnia", None), (None, None)],
)
def test_country_codes_from_maintained_gazetteers(name, code):
    assert country_code(name) == code


def test_actors_only_count_when_they_are_countries():
    assert country_code("Lisbon", countries_only=True) is None
    assert country_code("Brazil", countries_only=True) == "BRA"


@pytest.mark.parametrize(
    "sentence, expression, date",
    [
        ("The group was founded in 2018 by exiles.", "in 2018", dt.date(2018, 1, 1)),
        ("Police raided the offices last week.", "last week", dt.date(2026, 3, 2)),
        ("In August, prosecutors opened a case.", "In August", dt.date(2025, 8, 1)),
        ("The talks resumed on Monday in Geneva.", "on Monday", dt.date(2026, 3, 9)),
        ("BRUSSELS, March 4 — The EU agreed.", "March 4", dt.date(2026, 3, 4)),
        ("Troops left on 12 December 2024.", "12 December 2024", dt.date(2024, 12, 12)),
        ("Rebels attacked the town yesterday.", "yesterday", dt.date(2026, 3, 10)),
        ("He was released three days ago.", "three days ago", dt.date(2026, 3, 8)),
        ("The ban was lifted on 2025-11-30.", "2025-11-30", dt.date(2025, 11, 30)),
        ("Officials met earlier this month.", "earlier this month", dt.date(2026, 3, 1)),
        ("The ministry has long criticised the plan.", None, None),
    ],
)
def test_time_expressions_resolve_relative_to_published(sentence, expression, date):
    assert find_time(sentence) == expression
    assert resolve_time(expression, PUBLISHED) == date


def test_later_needs_an_anchor_and_unknown_stays_null():
    assert resolve_time("two years later", PUBLISHED) is None
    assert resolve_time("two years later", PUBLISHED, anchor=dt.date(2018, 5, 1)) == dt.date(2020, 5, 1)
    assert resolve_time("last week", None) is None
    assert resolve_time("in 2019", None) == dt.date(2019, 1, 1)


def test_the_time_nearest_the_trigger_dates_the_event_and_starting_points_do_not():
    text = "On Monday, police said they had arrested him last week."
    assert find_time(text) == "On Monday"
    assert find_time(text, near=text.index("arrested")) == "last week"
    # A starting point is the time text only when nothing else dates the event, and never a date.
    assert find_time("The ban has been in place since 2012.") == "since 2012"
    assert resolve_time("since 2012", PUBLISHED) is None
    assert find_time("Talks must end by 2030, and began in 2019.") == "in 2019"
    assert find_time("He was stabbed last night at a fundraiser.") == "last night"


@pytest.mark.parametrize("sentence, expression", [
    ("Critics say he wants to foil them by October 31.", "October 31"),  # not "by Oct"
    ("It was the first strike in decades.", None),                       # not "in Dec"
    ("Police said so at Tuesday's hearing.", None),                      # a day that modifies a noun
    ("Protesters returned after yesterday's march.", None),
    ("She told BBC Radio 4's Today programme the plan was wrong.", None),
    ("Talks resumed in Oct. 2019.", "in Oct. 2019"),
    ("He arrived in May.", "in May"),                                    # the full stop is not the month's
])
def test_month_names_end_at_a_word_edge_and_noun_modifiers_are_not_times(sentence, expression):
    assert find_time(sentence) == expression


# Published on a Wednesday: a weekday before it, the same day, and after it, read backwards
# (past tense) and forwards (future cues), with the precision each expression carries.
@pytest.mark.parametrize("expr, future, date, precision", [
    ("on Monday", False, dt.date(2026, 3, 9), "day"),
    ("on Wednesday", False, dt.date(2026, 3, 11), "day"),
    ("on Thursday", False, dt.date(2026, 3, 5), "day"),
    ("on Thursday", True, dt.date(2026, 3, 12), "day"),
    ("on Monday", True, dt.date(2026, 3, 16), "day"),
    ("on Wednesday", True, dt.date(2026, 3, 11), "day"),
    ("next Thursday", False, dt.date(2026, 3, 12), "day"),
    ("next Wednesday", True, dt.date(2026, 3, 18), "day"),
    ("last Wednesday", False, dt.date(2026, 3, 4), "day"),
    ("last Thursday", False, dt.date(2026, 3, 5), "day"),
    ("in August", False, dt.date(2025, 8, 1), "month"),
    ("in August", True, dt.date(2026, 8, 1), "month"),
    ("in March", True, dt.date(2026, 3, 1), "month"),
    ("in February", True, dt.date(2027, 2, 1), "month"),
    ("March 20", False, dt.date(2025, 3, 20), "day"),
    ("March 20", True, dt.date(2026, 3, 20), "day"),
    ("in 2018", False, dt.date(2018, 1, 1), "year"),
    ("in May 2018", False, dt.date(2018, 5, 1), "month"),
    ("12 December 2024", False, dt.date(2024, 12, 12), "day"),
    ("last week", False, dt.date(2026, 3, 2), "week"),
    ("next week", True, dt.date(2026, 3, 16), "week"),
    ("last month", False, dt.date(2026, 2, 1), "month"),
    ("next year", True, dt.date(2027, 1, 1), "year"),
    ("two weeks ago", False, dt.date(2026, 2, 25), "week"),
    ("a month ago", False, dt.date(2026, 2, 11), "month"),
    ("last night", False, dt.date(2026, 3, 10), "day"),
    ("since 2012", False, None, None),
    ("for three years", False, None, None),
    ("until May", True, None, None),
])
def test_dates_have_a_direction_and_a_precision(expr, future, date, precision):
    assert resolve_when(expr, PUBLISHED, future=future) == (date, precision)


@pytest.mark.parametrize("sentence, future", [
    ("The minister is scheduled to travel to Berlin on Thursday.", True),
    ("Talks will resume next week.", True),
    ("The union said members are to strike on Monday.", True),
    ("Police arrested him on Thursday.", False),
    ("He had met the minister on Monday.", False),
])
def test_the_sentence_tense_sets_the_direction(sentence, future):
    assert is_future(sentence) is future


def test_one_year_ago_on_a_leap_day_is_a_real_date():
    # Regression: hand-written arithmetic raised "day is out of range for month" (issue #14).
    assert resolve_when("one year ago", dt.date(2024, 2, 29)) == (dt.date(2023, 2, 28), "year")
    assert resolve_when("a month ago", dt.date(2026, 3, 31)) == (dt.date(2026, 2, 28), "month")
    assert resolve_when("two years later", None, anchor=dt.date(2020, 2, 29)) == (dt.date(2022, 2, 28), "year")


@pytest.mark.parametrize("sentence, expression, date, precision", [
    # Regression: "mid-?\s+" required a space, so "mid-2018" was no time at all.
    ("The plant closed in mid-2018.", "mid-2018", dt.date(2018, 1, 1), "year"),
    # Regression: found as the time text but resolved to nothing.
    ("He was stabbed last evening.", "last evening", dt.date(2026, 3, 10), "day"),
    # Regression: resolved when given, but never found in a sentence.
    ("He was arrested this morning, police said.", "this morning", PUBLISHED, "day"),
])
def test_mid_year_last_evening_and_this_morning_are_found_and_dated(sentence, expression, date, precision):
    assert find_time(sentence) == expression
    assert resolve_when(expression, PUBLISHED) == (date, precision)
