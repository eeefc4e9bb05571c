"""Exact outputs of the place and time resolvers on real news phrasings, as tables to check by eye.

Each row is one behaviour of ``models.place_time``: an expression and a
publication date give one date and one precision (a period resolves to its first
day; weeks start on Monday), a sentence gives one time text, a place name gives
one ISO 3166 alpha-3 code. Calendars for the dates used: March 2026 starts on a
Sunday, so 2026-03-11 is a Wednesday and 2026-03-09 a Monday; 2026-01-02 is a
Friday; 2024 is a leap year.
"""

import datetime as dt

import pytest
from newsevents.models.place_time import country_code, find_time, is_future, resolve_time, resolve_when

D = dt.date
WED = D(2026, 3, 11)
MON = D(2026, 3, 9)
SUN_FIRST = D(2026, 3, 1)  # a Sunday and the first of the month
FRI_NEW_YEAR = D(2026, 1, 2)


@pytest.mark.parametrize("expr, published, future, date, precision", [
    # A full date ignores the publication date and the sentence's tense.
    ("2025-11-30", WED, False, D(2025, 11, 30), "day"),
    ("March 4, 2026", WED, True, D(2026, 3, 4), "day"),
    ("Sept. 4, 2025", WED, False, D(2025, 9, 4), "day"),
    ("4th July 2025", WED, False, D(2025, 7, 4), "day"),
    ("in Oct. 2019", WED, False, D(2019, 10, 1), "month"),
    ("late September 2024", WED, False, D(2024, 9, 1), "month"),
    ("early 2019", WED, False, D(2019, 1, 1), "year"),
    ("mid-2018", WED, False, D(2018, 1, 1), "year"),
    # A month without a year: the latest one that has begun, or, looking forward, the next one not yet over.
    ("IN AUGUST", WED, False, D(2025, 8, 1), "month"),  # wire copy in capitals
    ("in Sept.", WED, False, D(2025, 9, 1), "month"),
    ("in March", SUN_FIRST, False, D(2026, 3, 1), "month"),  # published on the 1st: this month
    ("in February", SUN_FIRST, True, D(2027, 2, 1), "month"),  # February ended yesterday
    ("in February", D(2026, 2, 28), True, D(2026, 2, 1), "month"),  # still February
    ("in December", FRI_NEW_YEAR, False, D(2025, 12, 1), "month"),
    # A day without a year: the latest on or before publication, or the first on or after it.
    ("March 11", WED, False, D(2026, 3, 11), "day"),  # a dateline of the publication day
    ("March 11", WED, True, D(2026, 3, 11), "day"),  # "will vote on March 11", published that day
    ("March 4", WED, True, D(2027, 3, 4), "day"),  # already past this year
    ("December 31", FRI_NEW_YEAR, False, D(2025, 12, 31), "day"),
    ("5 January", D(2025, 12, 31), True, D(2026, 1, 5), "day"),
    ("29 February", D(2025, 3, 1), True, D(2028, 2, 29), "day"),  # the next leap year
    # Counts back from publication; the unit counted is the precision.
    ("3 days ago", WED, False, D(2026, 3, 8), "day"),
    ("a week ago", WED, False, D(2026, 3, 4), "week"),
    ("six months ago", WED, False, D(2025, 9, 11), "month"),
    ("10 years ago", WED, False, D(2016, 3, 11), "year"),
    # The publication day and the day before.
    ("today", WED, False, WED, "day"),
    ("tonight", WED, True, WED, "day"),
    ("this morning", WED, False, WED, "day"),
    ("this afternoon", WED, False, WED, "day"),
    ("this evening", WED, True, WED, "day"),
    ("Yesterday", WED, False, D(2026, 3, 10), "day"),
    ("yesterday morning", WED, False, D(2026, 3, 10), "day"),
    ("last evening", WED, False, D(2026, 3, 10), "day"),
    ("yesterday", SUN_FIRST, False, D(2026, 2, 28), "day"),
    ("yesterday", D(2024, 3, 1), False, D(2024, 2, 29), "day"),
    # Weekdays, published on a Wednesday unless said otherwise.
    ("last Tuesday", WED, False, D(2026, 3, 10), "day"),  # the day before
    ("last Monday", WED, False, D(2026, 3, 9), "day"),
    ("last Friday", FRI_NEW_YEAR, False, D(2025, 12, 26), "day"),  # a week before, across the year
    ("next Friday", WED, True, D(2026, 3, 13), "day"),
    ("on Friday", WED, False, D(2026, 3, 6), "day"),
    ("on Friday", WED, True, D(2026, 3, 13), "day"),
    ("ON FRIDAY", WED, False, D(2026, 3, 6), "day"),  # wire copy in capitals
    ("this Friday", WED, True, D(2026, 3, 13), "day"),
    ("Sunday", WED, False, D(2026, 3, 8), "day"),
    ("on Monday night", WED, False, D(2026, 3, 9), "day"),
    ("on Sunday", SUN_FIRST, False, D(2026, 3, 1), "day"),  # the publication day itself
    ("on Saturday", SUN_FIRST, False, D(2026, 2, 28), "day"),
    # Weeks start on Monday; months and years on their first day.
    ("this week", WED, False, D(2026, 3, 9), "week"),
    ("earlier this week", WED, False, D(2026, 3, 9), "week"),
    ("last week", MON, False, D(2026, 3, 2), "week"),
    ("last week", FRI_NEW_YEAR, False, D(2025, 12, 22), "week"),  # this week began on 29 December
    ("next week", D(2026, 3, 15), True, D(2026, 3, 16), "week"),  # published on a Sunday
    ("later this month", WED, True, D(2026, 3, 1), "month"),
    ("next month", WED, True, D(2026, 4, 1), "month"),
    ("last month", FRI_NEW_YEAR, False, D(2025, 12, 1), "month"),
    ("earlier in the year", WED, False, D(2026, 1, 1), "year"),
    ("last year", WED, False, D(2025, 1, 1), "year"),
    # No date: starting points, deadlines, durations, dates that do not exist, nothing to count from.
    ("since March", WED, False, None, None),
    ("until 2030", WED, True, None, None),
    ("from 2019", WED, False, None, None),
    ("for two weeks", WED, False, None, None),
    ("2023-02-29", WED, False, None, None),
    ("April 31", WED, False, None, None),  # in no year: no date, and so no precision either
    ("last week", None, False, None, None),
    ("on Thursday", None, True, None, None),
    ("", WED, False, None, None),
    (None, WED, False, None, None),
])
def test_expression_and_publication_date_give_a_date_and_a_precision(expr, published, future, date, precision):
    assert resolve_when(expr, published, future=future) == (date, precision)
    assert resolve_time(expr, published, future=future) == date


@pytest.mark.parametrize("expr, anchor, date, precision", [
    ("two days later", D(2026, 3, 2), D(2026, 3, 4), "day"),
    ("three months earlier", D(2026, 5, 31), D(2026, 2, 28), "month"),  # no 31 February
    ("10 years later", D(2016, 1, 15), D(2026, 1, 15), "year"),
    ("a week later", None, None, None),  # nothing dated before it
])
def test_later_and_earlier_count_from_the_previous_event(expr, anchor, date, precision):
    assert resolve_when(expr, WED, anchor=anchor) == (date, precision)


def test_a_sentence_without_tense_cues_reads_backwards():
    # News reports the past: the default direction is the one a past-tense sentence gets.
    assert resolve_when("on Thursday", WED) == (D(2026, 3, 5), "day")
    assert resolve_when("March 20", WED) == (D(2025, 3, 20), "day")
    assert resolve_time("in August", WED) == D(2025, 8, 1)


@pytest.mark.parametrize("sentence, time_text", [
    ("Police arrested the suspect on Friday, a spokesman said.", "on Friday"),
    ("KYIV, Sept. 4 (Reuters) - Russian drones struck the city overnight.", "Sept. 4"),
    ("The ceasefire took effect on 12 December 2024.", "12 December 2024"),
    ("The talks, which began in May 2023, collapsed.", "in May 2023"),
    ("The plant closed in mid-2018 after years of losses.", "mid-2018"),
    ("Unrest spread to the north in early March.", "early March"),
    ("Protesters gathered outside parliament this morning.", "this morning"),
    ("Three people were killed in an attack last evening.", "last evening"),
    ("The minister resigned yesterday.", "yesterday"),
    ("Elections are due to be held next year.", "next year"),
    ("The company was fined 10 days ago.", "10 days ago"),
    ("Two years later, the party split.", "Two years later"),
    ("The strike ended earlier in the week.", "earlier in the week"),
    ("Sanctions have been in place since 2014 and were tightened in March.", "in March"),
    ("He has lived in exile for three years.", None),  # a duration, not a time
    ("The ministry has long criticised the plan.", None),
])
def test_sentence_gives_its_time_text(sentence, time_text):
    assert find_time(sentence) == time_text


SENTENCE = "On Monday the suspect was arrested; prosecutors said on Thursday he would be charged."


@pytest.mark.parametrize("sentence, trigger, time_text", [
    (SENTENCE, "arrested", "On Monday"),  # before the trigger and nearer than the one after it
    (SENTENCE, "charged", "on Thursday"),
    ("Officials said on Friday that the talks had collapsed last week.", "collapsed", "last week"),
    ("Officials said on Friday that the talks had collapsed last week.", "said", "on Friday"),
])
def test_the_time_text_nearest_the_trigger_dates_the_event(sentence, trigger, time_text):
    assert find_time(sentence, near=sentence.index(trigger)) == time_text


@pytest.mark.parametrize("sentence, published, date, precision", [
    ("The two leaders will meet in Geneva on Thursday.", WED, D(2026, 3, 12), "day"),
    ("The two leaders met in Geneva on Thursday.", WED, D(2026, 3, 5), "day"),
    ("Parliament is set to vote on the bill in April.", WED, D(2026, 4, 1), "month"),
    ("Parliament voted on the bill in April.", WED, D(2025, 4, 1), "month"),
    ("The trial is expected to begin on March 20.", WED, D(2026, 3, 20), "day"),
    ("Rebels seized the town three weeks ago.", WED, D(2026, 2, 18), "week"),
])
def test_sentence_and_publication_date_give_the_event_date(sentence, published, date, precision):
    # The chain the events table uses: the time text, the sentence's tense, the date.
    assert resolve_when(find_time(sentence), published, future=is_future(sentence)) == (date, precision)


@pytest.mark.parametrize("sentence, future", [
    ("The two leaders will meet in Geneva on Thursday.", True),
    ("They'll announce the results on Friday.", True),
    ("The trial is expected to begin in May.", True),
    ("The company plans to cut 500 jobs.", True),
    ("Protesters are due to march on Saturday.", True),
    ("Talks collapsed last week.", False),
    ("", False),
    (None, False),
])
def test_future_cues(sentence, future):
    assert is_future(sentence) is future


@pytest.mark.parametrize("place, code, as_actor", [
    # Capitals and cities: the country they are in; as an actor, a city is not a country.
    ("Kyiv", "UKR", None), ("Beijing", "CHN", None), ("Moscow", "RUS", None), ("Tehran", "IRN", None),
    ("KHARTOUM", "SDN", None), ("Mumbai", "IND", None), ("Donetsk", "UKR", None), ("Idlib", "SYR", None),
    # Regions and states.
    ("Northern Ireland", "GBR", None), ("California", "USA", None), ("Gaza", "PSE", None),
    # Country names in the forms news writes them.
    ("the Gaza Strip", "PSE", "PSE"), ("the Democratic Republic of Congo", "COD", "COD"), ("Taiwan", "TWN", "TWN"),
    ("Hong Kong", "HKG", "HKG"), ("Iran's", "IRN", "IRN"),
])
def test_place_text_gives_an_iso_country(place, code, as_actor):
    assert country_code(place) == code
    assert country_code(place, countries_only=True) == as_actor
