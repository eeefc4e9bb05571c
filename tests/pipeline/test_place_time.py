"""Country codes and date resolution, the cases the events table depends on."""

import datetime as dt

import pytest

from pipeline.transforms.place_time import country_code, find_time, resolve_time

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
    assert find_time("The ban has been in place since 2012.") is None
    assert find_time("Talks must end by 2030, and began in 2019.") == "in 2019"
    assert find_time("He was stabbed last night at a fundraiser.") == "last night"
