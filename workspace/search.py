"""Find leads: what a search box entry means, the filters, and keyset paging."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, false, func, intersect, literal, or_, tuple_, union
from sqlalchemy.orm import aliased

from database import MAX_ID, UTCDateTime, db, row_id
from export.platforms import PLATFORMS, Platform
from leads.contact import e164_phone, search_words
from leads.models import Conversion, Lead, LeadClickId, LeadSearchWord

PAGE_SIZE = 50
CLICK_ID_PREFIX = r"[\w-]{8,255}"  # at least 8 characters of a click ID find it
COMMON_WORD = 2000  # leads sharing a word, beyond which a search starts from the newest
COMMON_WORDS = 20_000  # the same for the rarest of several words
# The dates a filter may name: leads arrive in neither the distant past nor the far future.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
HIGHEST = "\U0010ffff"  # sorts after every other character, for prefix ranges
STATUS_FILTERS = {"active": ("new", "quarantined"), "new": ("new",),
                  "quarantined": ("quarantined",), "spam": ("spam",), "all": None}  # fmt: skip


class BadFilter(ValueError):
    """A filter value no lead could match; the message says what to change."""


@dataclass
class LeadFilters:
    """The search box and filters of the leads list."""

    q: str = ""
    microsoft: bool = False
    google: bool = False
    converted: str = ""  # "yes", "no" or ""
    status: str = "active"
    since: date | None = None
    until: date | None = None
    before: str = ""  # the keyset cursor: "<created_at µs>.<id>"
    key: str = ""  # a platform: leads it could take a conversion of
    goal: int | None = None  # leads converted to this goal

    @classmethod
    def from_args(cls, args) -> "LeadFilters":
        """Read the filters from a query string, ignoring what does not parse.

        Raise BadFilter for a date or cursor out of any lead's range.
        """
        _cursor(args.get("before", ""))
        return cls(
            # PostgreSQL text cannot hold NUL: a pasted one would fail the query, not match.
            q=args.get("q", "").replace("\x00", "").strip()[:254],
            microsoft=args.get("microsoft") == "1",
            google=args.get("google") == "1",
            converted=args.get("converted", "") if args.get("converted") in ("yes", "no") else "",
            status=args.get("status", "active")
            if args.get("status") in STATUS_FILTERS
            else "active",
            since=_date(args.get("since")),
            until=_date(args.get("until")),
            before=args.get("before", ""),
            key=args.get("key", "") if args.get("key") in PLATFORMS else "",
            goal=args.get("goal", type=row_id),
        )


def _date(text: str | None) -> date | None:
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    if day and not EARLIEST <= day <= LATEST:
        raise BadFilter(f"Choose dates between {EARLIEST} and {LATEST}.")
    return day


def usable_key(platform: Platform):
    """Return the condition a lead meets when the platform could take its conversion: a
    valid click ID of the platform, or a hashed email or phone it may send."""
    click_id = exists().where(LeadClickId.lead_id == Lead.id,
                              LeadClickId.platform == platform.name,
                              LeadClickId.valid.is_(True))  # fmt: skip
    hashes = and_(or_(platform.email_hash(Lead).is_not(None), Lead.phone_sha256.is_not(None)),
                  or_(Lead.ad_user_data.is_(None), Lead.ad_user_data != "denied"))  # fmt: skip
    return or_(click_id, hashes)


def search_condition(q: str, default_country: str):
    """Return the condition a search box entry means: an email, a phone number, the start
    of words of a name or company (any accents or case), or the start of a click ID."""
    if "@" in q:
        text = q.lower()
        return and_(Lead.email_search >= text, Lead.email_search < text + HIGHEST)
    phone = e164_phone(q, default_country) if re.fullmatch(r"[\d\s+()./-]{6,}", q) else None
    if phone:
        return Lead.phone_e164 == phone
    words = search_words(q)[:5]
    if not words and not re.fullmatch(CLICK_ID_PREFIX, q):
        return false()
    if re.fullmatch(CLICK_ID_PREFIX, q):
        # One token may be a click ID's start or a name's words: one set of leads either way.
        clicked = db.select(LeadClickId.lead_id).where(LeadClickId.value >= q,
                                                       LeadClickId.value < q + HIGHEST)  # fmt: skip
        named = [_word_lead_ids(word) for word in words]
        if len(named) > 1:  # as a subquery: SQLite reads A UNION B INTERSECT C left to right
            every = intersect(*named).subquery()
            named = [db.select(every.c.lead_id)]
        return Lead.id.in_(union(clicked, *named))
    return _words(words)


def _starts(word: str):
    return LeadSearchWord.word >= word, LeadSearchWord.word < word + HIGHEST


def _word_lead_ids(word: str):
    return db.select(LeadSearchWord.lead_id).where(*_starts(word))


def _words(words: list[str]):
    """Return the condition that a lead has a word starting with each of `words`.

    When the rarest word is rare enough, the leads having every word are found in the word
    index alone, from the rarest word's, before any lead is read. When every word is
    common, the search starts from the newest leads (EXISTS), which fills a page after a
    few hundred probes instead of gathering every match first.
    """
    cap = COMMON_WORD if len(words) == 1 else COMMON_WORDS
    counts = {word: _matches(word, cap) for word in words}
    rarest = min(words, key=counts.get)
    if counts[rarest] >= cap:
        return and_(*(exists().where(LeadSearchWord.lead_id == Lead.id, *_starts(word))
                       for word in words))  # fmt: skip
    other = aliased(LeadSearchWord)
    found = _word_lead_ids(rarest).where(*(
        exists().where(other.lead_id == LeadSearchWord.lead_id, other.word >= word,
                       other.word < word + HIGHEST)
        for word in words if word != rarest
    ))  # fmt: skip
    # Materialized, so that both databases gather the few matches first.
    return Lead.id.in_(db.select(found.cte("found").prefix_with("MATERIALIZED")))


def _matches(word: str, cap: int) -> int:
    """Return how many leads have a word starting with `word`, counting up to `cap`."""
    subquery = _word_lead_ids(word).limit(cap).subquery()
    return db.session.scalar(db.select(func.count()).select_from(subquery))


def leads_query(filters: LeadFilters, timezone: str, default_country: str) -> Select:
    """Return the newest leads matching the filters, one page plus one row."""
    query = db.select(Lead)
    if filters.q:
        query = query.where(search_condition(filters.q, default_country))
    statuses = STATUS_FILTERS[filters.status]
    if statuses:
        query = query.where(Lead.status.in_(statuses))
    for platform, wanted in (("microsoft", filters.microsoft), ("google", filters.google)):
        if wanted:
            query = query.where(exists().where(
                LeadClickId.lead_id == Lead.id, LeadClickId.platform == platform,
                LeadClickId.valid.is_(True),
            ))  # fmt: skip
    if filters.key:
        query = query.where(usable_key(PLATFORMS[filters.key]))
    if filters.goal:
        query = query.where(Lead.id.in_(
            db.select(Conversion.lead_id).where(Conversion.goal_id == filters.goal)
        ))  # fmt: skip
    if filters.converted == "yes":  # few leads convert: start from the conversions
        query = query.where(Lead.id.in_(db.select(Conversion.lead_id)))
    elif filters.converted == "no":
        query = query.where(~exists().where(Conversion.lead_id == Lead.id))
    zone = ZoneInfo(timezone)
    if filters.since:
        query = query.where(Lead.created_at >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), zone)
        query = query.where(Lead.created_at < end)
    cursor = _cursor(filters.before)
    if cursor:
        query = query.where(
            tuple_(Lead.created_at, Lead.id) < tuple_(literal(cursor[0], UTCDateTime()), cursor[1])
        )
    return query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(PAGE_SIZE + 1)


def next_cursor(lead: Lead) -> str:
    """Return the cursor of the page after this lead."""
    return f"{int(lead.created_at.timestamp() * 1_000_000)}.{lead.id}"


def _cursor(text: str) -> tuple[datetime, int] | None:
    micros, _, lead_id = text.partition(".")
    if not (micros.isdigit() and lead_id.isdigit()):
        return None
    latest = datetime.combine(LATEST, time.max, UTC).timestamp() * 1_000_000
    # Digits first: a string of thousands of digits is too long even to read as a number.
    if len(micros) > 17 or len(lead_id) > 10 or int(micros) > latest or int(lead_id) > MAX_ID:
        raise BadFilter("This page link is out of range: start again from the first page.")
    return datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(lead_id)
