"""Where and when an event happened: country codes and resolved dates (pure functions).

Country codes come from ``models.countries`` (``country_converter``'s
name patterns, proper nouns only; cities and regions settled by the article's
other places).

Dates are resolved from English temporal expressions relative to the article's
``published`` date, forwards when the sentence looks ahead ("is scheduled to
travel ... on Thursday"), with ``dateutil.relativedelta`` doing the calendar
arithmetic; the raw expression is kept beside the date, and a precision says
whether it names a day, a week, a month or a year (a period resolves to its
first day). Starting points and deadlines ("since 2012") give no date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Mapping

from newsevents.models.countries import country_of

__all__ = ["country_code", "find_time", "is_future", "resolve_time", "resolve_when"]


def country_code(
    name: str | None, countries_only: bool = False, context: Mapping[str, int] | None = None
) -> str | None:
    """ISO 3166 alpha-3 code of a country, or of the country of a city, region or US state.

    Delegates to :func:`models.countries.country_of`: only proper nouns
    resolve ("it" and "us" are pronouns, "AI" is not Anguilla), common names count
    ("Britain", "the UK", "Holland"), and ``context`` (ISO3 code -> how often the
    article's other places and actors name it) decides a place name that several
    countries share.

    >>> country_code("France"), country_code("U.S."), country_code("Russia"), country_code("Lisbon")
    ('FRA', 'USA', 'RUS', 'PRT')
    >>> country_code("Lisbon", countries_only=True) is None, country_code("it") is None
    (True, True)
    """
    return country_of(name, context=context, countries_only=countries_only)


# Every form _MONTH_RE accepts ("Sept.", "September", "Sep") starts with the month's abbreviation.
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "a": 1, "an": 1}
# A month name ends at a word edge: "by October 31" is not "by Oct", "in decades" is not "in Dec".
_MONTH_RE = (r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)"
             r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)(?![a-z])")
_DAY_RE = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_UNIT_RE = r"(?:day|week|month|year)s?"
_COUNT_RE = r"(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a|an)"
_TIME = re.compile(
    rf"""
    \b(?:
        \d{{4}}-\d{{2}}-\d{{2}}                                         # 2026-03-04
      | {_MONTH_RE}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b    # March 4(, 2026)
      | \d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE}(?:\s+\d{{4}})?\b      # 4 March (2026)
      | (?:(?:in|since|during|by|from|until|early|late|mid)\s+|mid-\s*)(?:{_MONTH_RE}\s+)?\d{{4}}\b   # in (May) 2018, mid-2018
      | (?:in|since|during|by|until|early|late)\s+{_MONTH_RE}(?!\s+\d)   # in August
      | (?:last|this|next|earlier\s+this|later\s+this)\s+(?:week|month|year|{_DAY_RE})\b
      | (?:on\s+)?{_DAY_RE}\b
      | {_COUNT_RE}\s+{_UNIT_RE}\s+(?:ago|later|earlier)\b
      | (?:last|yesterday|on\s+\w+day)\s+(?:night|morning|afternoon|evening)
      | this\s+(?:morning|afternoon|evening)
      | earlier\s+(?:this|in\s+the)\s+(?:week|month|year)
      | yesterday | today | tonight
    )
    # A day that modifies a noun ("Tuesday's hearing", "yesterday's march", the "Today programme")
    # dates that thing, not the sentence's event.
    (?!['’]s\b|\s+programme)
    """,
    re.VERBOSE | re.IGNORECASE,
)


# Starting points, deadlines and durations ("since 2012", "until May", "by 2030", "for three
# years") say when something began, must end or how long it lasted, not when the event happened:
# they are kept as the event's time text only when the sentence has no other expression, and
# never give a date (issue #13).
_NOT_WHEN = re.compile(r"^(?:since|until|by|from|for)\b", re.IGNORECASE)


def find_time(text: str, near: int | None = None) -> str | None:
    """The temporal expression of ``text`` that dates an event (verbatim), or ``None``.

    The one nearest to character ``near`` (the event's trigger) when given, else
    the first; a starting point or deadline only when there is nothing else.

    >>> find_time("Police arrested him in August, officials said.")
    'in August'
    >>> find_time("On Monday, police said they had arrested him last week.", near=32)
    'last week'
    >>> find_time("The ban has been in place since 2012.")
    'since 2012'
    """
    found = list(_TIME.finditer(text))
    dating = [m for m in found if not _NOT_WHEN.match(m.group(0))] or found
    if not dating:
        return None
    if near is None:
        return dating[0].group(0)
    return min(dating, key=lambda m: max(m.start() - near, near - m.end(), 0)).group(0)


# Words that put the sentence's event after publication ("will meet on Thursday",
# "is scheduled to travel", "next week"): relative expressions then count forwards.
_FUTURE = re.compile(
    r"\b(?:will|shall|won't|'ll|scheduled|due to|is to|are to|set to|plans? to|planned|upcoming|"
    r"expected to|to be held|next)\b",
    re.IGNORECASE,
)


def is_future(sentence: str | None) -> bool:
    """Whether a sentence reports something still to happen (its cue words), so dates count forwards.

    >>> is_future("The minister is scheduled to travel to Berlin on Thursday."), is_future("He met her on Thursday.")
    (True, False)
    """
    return bool(sentence and _FUTURE.search(sentence))


def _month_of(token: str) -> int:
    return _MONTHS[token[:3].lower()]


def _day_without_year(published: dt.date, month: int, day: int, future: bool) -> dt.date | None:
    # News reports the past: a date without a year is the latest one on or before publication,
    # or, when the sentence looks forward, the first one on or after it. Years are tried in that
    # direction, so "February 29" is the nearest leap year's (eight years at most: 1896 -> 1904).
    step = 1 if future else -1
    for k in range(9):
        try:
            candidate = dt.date(published.year + step * k, month, day)
        except ValueError:  # 29 February of a common year, 31 April, day 0, year 0 or 10000
            continue
        if (candidate >= published) if future else (candidate <= published):
            return candidate
    return None


def resolve_when(expr: str | None, published: dt.date | None, anchor: dt.date | None = None,
                 future: bool = False) -> tuple[dt.date | None, str | None]:
    """The date an expression refers to and how precise it is: ``(date, "day"|"week"|"month"|"year")``.

    Relative to ``published``; "two years later" counts from ``anchor`` (the
    previous event's date). ``future`` (the sentence's tense, :func:`is_future`)
    turns bare weekdays, months and dates without a year forwards. Calendar
    arithmetic is ``dateutil.relativedelta``'s, so month ends and 29 February are
    handled. A period resolves to its first day, and the precision says so;
    starting points and deadlines ("since 2012"), dates that do not exist
    ("2023-02-29") and dates past the calendar's ends (year 1, 9999) give
    ``(None, None)``: a precision never comes without a date.

    >>> p = dt.date(2026, 3, 11)  # a Wednesday
    >>> resolve_when("on Thursday", p), resolve_when("on Thursday", p, future=True)
    ((datetime.date(2026, 3, 5), 'day'), (datetime.date(2026, 3, 12), 'day'))
    >>> resolve_when("in August", p), resolve_when("last week", p), resolve_when("since 2012", p)
    ((datetime.date(2025, 8, 1), 'month'), (datetime.date(2026, 3, 2), 'week'), (None, None))
    >>> resolve_when("one year ago", dt.date(2024, 2, 29)), resolve_when("February 29", dt.date(2025, 3, 1))
    ((datetime.date(2023, 2, 28), 'year'), (datetime.date(2024, 2, 29), 'day'))
    """
    try:
        day, precision = _resolve(expr, published, anchor, future)
    except (ValueError, OverflowError):
        # Arithmetic past year 1 or 9999 ("yesterday" of 0001-01-01, which the reader accepts) or a
        # date that does not exist ("in May 0000"): no date, never an exception (issue #14).
        return None, None
    return (day, precision) if day is not None else (None, None)


def _resolve(expr: str | None, published: dt.date | None, anchor: dt.date | None,
             future: bool) -> tuple[dt.date | None, str | None]:
    from dateutil.relativedelta import relativedelta, weekday

    if not expr:
        return None, None
    e = " ".join(expr.strip().lower().split())
    if _NOT_WHEN.match(e):
        return None, None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", e)
    if m:
        return dt.date(int(m[1]), int(m[2]), int(m[3])), "day"
    year = re.search(r"\b(\d{4})\b", e)
    month = re.search(_MONTH_RE, expr, re.IGNORECASE)
    dnum = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b(?!\d)", e)
    if year and not (month and dnum):
        if month:
            return dt.date(int(year[1]), _month_of(month.group(0)), 1), "month"
        return dt.date(int(year[1]), 1, 1), "year"
    if year and month and dnum:
        return dt.date(int(year[1]), _month_of(month.group(0)), int(dnum[1])), "day"
    m = re.fullmatch(rf"({_COUNT_RE})\s+(day|week|month|year)s?\s+(ago|later|earlier)", e)
    if m:
        n = int(m[1]) if m[1].isdigit() else _NUM[m[1]]
        base = published if m[3] == "ago" else anchor
        if base is None:
            return None, None
        sign = 1 if m[3] == "later" else -1
        # The unit counted is the precision: "two weeks ago" names a week, not a day.
        return base + relativedelta(**{m[2] + "s": sign * n}), m[2]
    if published is None:
        return None, None
    if month and dnum:
        return _day_without_year(published, _month_of(month.group(0)), int(dnum[1]), future), "day"
    if month:
        first = dt.date(published.year, _month_of(month.group(0)), 1)
        if not future and first > published:
            first = first - relativedelta(years=1)
        elif future and first + relativedelta(months=1) <= published:
            first = first + relativedelta(years=1)
        return first, "month"
    if e in ("today", "tonight", "this morning", "this afternoon", "this evening"):
        return published, "day"
    if e == "yesterday" or e.startswith(("yesterday ", "last night", "last evening")):
        return published - relativedelta(days=1), "day"
    day_name = re.search(_DAY_RE, expr, re.IGNORECASE)
    if day_name:
        wd = weekday(_DAYS[day_name.group(0).lower()])
        if e.startswith("last"):
            return published + relativedelta(days=-1, weekday=wd(-1)), "day"
        if e.startswith("next"):
            return published + relativedelta(days=+1, weekday=wd(+1)), "day"
        return published + relativedelta(weekday=wd(+1) if future else wd(-1)), "day"
    m = re.fullmatch(r"(last|this|next|earlier this|later this|earlier in the)\s+(week|month|year)", e)
    if m:
        step = {"last": -1, "next": 1}.get(m[1], 0)
        if m[2] == "week":
            return published + relativedelta(weekday=weekday(0)(-1), weeks=step), "week"
        if m[2] == "month":
            return published + relativedelta(day=1, months=step), "month"
        return published + relativedelta(month=1, day=1, years=step), "year"
    return None, None


def resolve_time(expr: str | None, published: dt.date | None, anchor: dt.date | None = None,
                 future: bool = False) -> dt.date | None:
    """The date of :func:`resolve_when`, without its precision.

    >>> p = dt.date(2026, 3, 11)  # a Wednesday
    >>> [str(resolve_time(e, p)) for e in ("in 2018", "last week", "in August", "on Monday", "March 4", "yesterday")]
    ['2018-01-01', '2026-03-02', '2025-08-01', '2026-03-09', '2026-03-04', '2026-03-10']
    >>> str(resolve_time("two years later", p, anchor=dt.date(2018, 1, 1)))
    '2020-01-01'
    """
    return resolve_when(expr, published, anchor, future)[0]
