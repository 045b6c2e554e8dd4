"""The demo workspace generator behind `kaiku demo`.

Everything random comes from one `random.Random(seed)`, consumed in a fixed
order, so the same seed and the same `today` produce identical data. Dates are
relative to `today` (the command defaults it to the current date in the demo's
time zone): the mix is deterministic, the calendar moves with the clock.

What the data is meant to show, so that every screen has something to find:
- NPS around +30, slowly improving over the 18 months of history;
- a dip of roughly 20 points two quarters before `today`'s quarter (a warehouse
  move: detractors talk about delivery), recovered in the next quarter;
- plan=basic clearly worse than the other plans (price and support complaints);
- churn (`churned_at`) more likely for unhappy companies, whose last answers
  before leaving are lower still;
- comments in each contact's language (en/fi/et) whose themes differ between
  detractors, passives and promoters.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.contacts.models import Contact
from kaiku.demo.comments import BANK, EXTRAS, GENERIC
from kaiku.demo.people import COMPANY_PARTS, FIRST_NAMES, LAST_NAMES, ascii_slug
from kaiku.responses.models import Channel, KioskDevice, Response
from kaiku.surveys.models import Survey

DEMO_EMAIL = "demo@kaiku.local"
WORKSPACE_NAME = "Demo: Nordic Outfitters"
WORKSPACE_SLUG = "demo"
BRAND = "Nordic Outfitters"
TIME_ZONE = "Europe/Helsinki"
LANGUAGES = ["en", "fi", "et"]

HISTORY_DAYS = 548  # answers over the last ~18 months
CUSTOMER_DAYS = 4 * 365  # customers joined over the last 4 years
BATCH_SIZE = 500

# --- Who the customers are -----------------------------------------------------
COUNTRIES = {"FI": 36, "EE": 20, "SE": 14, "DE": 12, "GB": 8, "NO": 5, "DK": 5}
LANGUAGE_BY_COUNTRY = {"FI": {"fi": 85, "en": 15}, "EE": {"et": 80, "en": 20}}
PLANS = {"free": 24, "basic": 32, "pro": 30, "enterprise": 14}
SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")
SIZE_WEIGHTS_BY_PLAN = {
    "free": (60, 30, 8, 2, 0),
    "basic": (35, 40, 20, 5, 0),
    "pro": (10, 35, 40, 12, 3),
    "enterprise": (0, 5, 30, 40, 25),
}
SUPPORT_CHANNELS = {"email": 35, "chat": 30, "phone": 20, "self-service": 15}
PRODUCTS = {"Workwear": 40, "Footwear": 25, "Outdoor gear": 20, "Safety equipment": 15}
CONTACTS_PER_COMPANY = 2.5

# --- How they feel (a latent 0-10 "mood"; NPS answers are the mood rounded) ---
BASE_MOOD = 8.5
PLAN_EFFECT = {"free": -0.1, "basic": -1.0, "pro": 0.3, "enterprise": 0.45}
COUNTRY_EFFECT = {"DE": -0.3}
DIP_EFFECT = -0.8  # ≈ 20 NPS points in the dip quarter
TREND = 0.5  # mood gained over the whole history
PRE_CHURN_DAYS = 120
PRE_CHURN_EFFECT = -1.2
ANSWER_NOISE = 1.6

# --- How they answer -------------------------------------------------------------
KINDS = {"nps": 60, "csat": 24, "ces": 16}
CHANNELS: dict[str, dict[str, int]] = {
    "nps": {"email": 44, "link": 14, "widget": 14, "kiosk": 8, "api": 5, "import": 45},
    "csat": {"api": 55, "email": 30, "widget": 15},
    "ces": {"api": 60, "email": 25, "widget": 15},
}
IMPORT_BEFORE_DAY = 180  # answers imported from the previous tool cover the oldest months
ANONYMOUS_SHARE = {"kiosk": 1.0, "link": 0.5, "widget": 0.2}
ANONYMOUS_LANGUAGES = {"fi": 50, "en": 30, "et": 20}
# Tablets in the two showrooms; their answers carry the `location` property.
KIOSKS = {
    "Helsinki showroom": ("Helsinki", {"fi": 70, "en": 30}),
    "Tallinn showroom": ("Tallinn", {"et": 70, "en": 30}),
}
COMMENT_RATE = {"nps": {"neg": 0.7, "mid": 0.4, "pos": 0.5}}
COMMENT_RATE_SUPPORT = {"neg": 0.55, "mid": 0.3, "pos": 0.35}
THEME_WEIGHTS: dict[str, dict[str, float]] = {
    "neg": {
        "delivery": 16, "price": 14, "support": 15, "quality": 13,
        "usability": 12, "billing": 10, "onboarding": 7, "performance": 13,
    },
    "mid": {
        "delivery": 15, "price": 20, "support": 12, "quality": 12,
        "usability": 14, "billing": 8, "onboarding": 6, "performance": 13,
    },
    "pos": {
        "delivery": 14, "price": 6, "support": 22, "quality": 24,
        "usability": 16, "billing": 5, "onboarding": 8, "performance": 5,
    },
}  # fmt: skip
# CSAT and CES follow support tickets: comments are about the interaction.
SUPPORT_THEME_FACTORS = {"support": 3.0, "billing": 2.0, "onboarding": 1.5, "quality": 0.5}
# Local hours people answer at (07-22: also keeps clear of DST gaps at night).
ANSWER_HOURS = tuple(range(7, 23))
ANSWER_HOUR_WEIGHTS = (2, 5, 8, 9, 9, 8, 8, 9, 8, 7, 5, 4, 4, 3, 2, 1)


@dataclass(frozen=True)
class DemoResult:
    workspace: Workspace
    email: str
    password: str
    contacts: int
    responses: int
    dip_quarter: str


@dataclass
class _Company:
    name: str
    country: str
    domain: str
    plan: str
    size: str
    product: str
    since: date
    churned: date | None
    mood: float


@dataclass
class _Person:
    company: _Company
    language: str
    mood: float
    properties: dict[str, Any]
    contact: Contact = field(repr=False)


def generate_demo(
    *,
    today: date,
    seed: int = 42,
    contacts: int = 1000,
    responses: int = 3000,
    password: str | None = None,
) -> DemoResult:
    """Create the demo workspace, its owner, surveys, contacts and answers.

    One transaction: a failure leaves nothing behind. Answers fall on the
    HISTORY_DAYS days before `today` (never on `today` itself, so nothing is in
    the future whatever the time of day).
    """
    rng = random.Random(seed)
    password = password or secrets.token_urlsafe(12)
    tz = ZoneInfo(TIME_ZONE)
    companies = _companies(rng, max(1, round(contacts / CONTACTS_PER_COMPANY)), today)
    with transaction.atomic():
        workspace = Workspace.objects.create(
            name=WORKSPACE_NAME,
            slug=_free_slug(),
            time_zone=TIME_ZONE,
            languages=LANGUAGES,
            brand_name=BRAND,
            brand_color="#1f6f5c",
            created_at=_at(today - timedelta(days=HISTORY_DAYS + 14), time(9), tz),
        )
        owner = _owner(password)
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        surveys = _surveys(workspace, today, tz)
        for name, (location, _languages) in KIOSKS.items():
            KioskDevice.objects.create(
                workspace=workspace, survey=surveys["nps"], name=name, location=location
            )
        people = _people(rng, workspace, companies, contacts, tz)
        Contact.objects.bulk_create([p.contact for p in people], batch_size=BATCH_SIZE)
        answers = _answers(rng, workspace, surveys, people, responses, today, tz)
        Response.objects.bulk_create(answers, batch_size=BATCH_SIZE)
    return DemoResult(
        workspace=workspace,
        email=owner.email,
        password=password,
        contacts=len(people),
        responses=len(answers),
        dip_quarter=_quarter_label(_quarter_index(today) - 2),
    )


# --- Helpers: calendar ------------------------------------------------------------


def _quarter_index(day: date) -> int:
    return day.year * 4 + (day.month - 1) // 3


def _quarter_label(index: int) -> str:
    return f"{index // 4}-Q{index % 4 + 1}"


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time stored as UTC (hours used avoid DST gaps at 03-04)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _pick(rng: random.Random, weights: dict[str, float] | dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- Helpers: rows ------------------------------------------------------------------


def _free_slug() -> str:
    taken = set(
        Workspace.objects.filter(slug__startswith=WORKSPACE_SLUG).values_list("slug", flat=True)
    )
    slug, number = WORKSPACE_SLUG, 1
    while slug in taken:
        number += 1
        slug = f"{WORKSPACE_SLUG}-{number}"
    return slug


def _owner(password: str) -> User:
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        return User.objects.create_user(DEMO_EMAIL, password, name="Demo Owner")
    # A second demo workspace: the printed password must work for the login.
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def _surveys(workspace: Workspace, today: date, tz: ZoneInfo) -> dict[str, Survey]:
    created = _at(today - timedelta(days=HISTORY_DAYS + 7), time(10), tz)
    specs = {
        "nps": ("Relationship NPS", 0, 10),
        "csat": ("Support ticket satisfaction (CSAT)", 1, 5),
        "ces": ("Support ticket effort (CES)", 1, 7),
    }
    return {
        kind: Survey.objects.create(
            workspace=workspace,
            name=name,
            kind=kind,
            scale_min=lo,
            scale_max=hi,
            created_at=created,
        )
        for kind, (name, lo, hi) in specs.items()
    }


def _companies(rng: random.Random, count: int, today: date) -> list[_Company]:
    names_left: dict[str, list[tuple[str, str]]] = {}
    for country, (regions, trades, _form, _tld) in COMPANY_PARTS.items():
        pairs = [(r, t) for r in regions for t in trades]
        rng.shuffle(pairs)
        names_left[country] = pairs
    companies = []
    for number in range(count):
        country = _pick(rng, COUNTRIES)
        regions, trades, form, tld = COMPANY_PARTS[country]
        pairs = names_left[country]
        region, trade = pairs.pop() if pairs else (rng.choice(regions), rng.choice(trades))
        joiner = "-" if country == "DE" else " "
        name = f"{region}{joiner}{trade} {form}"
        plan = _pick(rng, PLANS)
        size = rng.choices(SIZES, weights=SIZE_WEIGHTS_BY_PLAN[plan])[0]
        # More recent customers than old ones: the business has been growing.
        since = today - timedelta(days=30 + int(CUSTOMER_DAYS * rng.random() ** 0.8))
        mood = rng.gauss(0, 0.8) + PLAN_EFFECT[plan] + COUNTRY_EFFECT.get(country, 0.0)
        companies.append(
            _Company(
                name=name,
                country=country,
                domain=f"{ascii_slug(f'{region} {trade}')}{number}.example.{tld}",
                plan=plan,
                size=size,
                product=_pick(rng, PRODUCTS),
                since=since,
                churned=_churn_date(rng, mood, since, today),
                mood=mood,
            )
        )
    return companies


def _churn_date(rng: random.Random, mood: float, since: date, today: date) -> date | None:
    """Unhappy companies leave more often (≈ 8% at an average mood, ~40% at the bottom)."""
    risk = min(0.6, max(0.02, 0.08 - 0.14 * mood))
    tenure = (today - since).days
    if tenure < 120 or rng.random() >= risk:
        return None
    return since + timedelta(days=rng.randint(90, tenure - 7))


def _people(
    rng: random.Random,
    workspace: Workspace,
    companies: list[_Company],
    count: int,
    tz: ZoneInfo,
) -> list[_Person]:
    people = []
    emails: set[str] = set()
    for number in range(count):
        # Every company gets one contact first, then the rest are spread out.
        company = companies[number] if number < len(companies) else rng.choice(companies)
        first = rng.choice(FIRST_NAMES[company.country])
        last = rng.choice(LAST_NAMES[company.country])
        email = f"{ascii_slug(first)}.{ascii_slug(last)}@{company.domain}"
        if email in emails:
            email = email.replace("@", f"{number}@")
        emails.add(email)
        language = _pick(rng, LANGUAGE_BY_COUNTRY.get(company.country, {"en": 1}))
        properties: dict[str, Any] = {
            "plan": company.plan,
            "country": company.country,
            "company": company.name,
            "company_size": company.size,
            "product": company.product,
            "support_channel": _pick(rng, SUPPORT_CHANNELS),
            "customer_since": company.since.isoformat(),
        }
        if company.churned:
            properties["churned_at"] = company.churned.isoformat()
        contact = Contact(
            workspace=workspace,
            email=email,
            external_id=f"CUS-{number + 1:05d}",
            name=f"{first} {last}",
            language=language,
            properties=properties,
            created_at=_at(company.since, time(12), tz),
        )
        mood = company.mood + rng.gauss(0, 0.6)
        people.append(_Person(company, language, mood, properties, contact))
    return people


def _answers(
    rng: random.Random,
    workspace: Workspace,
    surveys: dict[str, Survey],
    people: list[_Person],
    count: int,
    today: date,
    tz: ZoneInfo,
) -> list[Response]:
    start = today - timedelta(days=HISTORY_DAYS)
    dip = _quarter_index(today) - 2
    # Volume grows over time; weekends are quiet.
    day_weights = [
        (1 + 0.6 * d / HISTORY_DAYS) * (0.35 if (start + timedelta(days=d)).weekday() >= 5 else 1)
        for d in range(HISTORY_DAYS)
    ]
    offsets = rng.choices(range(HISTORY_DAYS), weights=day_weights, k=count)
    answers = []
    for offset in sorted(offsets):
        day = start + timedelta(days=offset)
        kind = _pick(rng, KINDS)
        channels = dict(CHANNELS[kind])
        if offset >= IMPORT_BEFORE_DAY:
            channels.pop("import", None)
        channel = _pick(rng, channels)
        person = None
        if rng.random() >= ANONYMOUS_SHARE.get(channel, 0.0):
            person = _active_person(rng, people, day)
        in_dip = _quarter_index(day) == dip
        mood = BASE_MOOD + TREND * offset / HISTORY_DAYS + (DIP_EFFECT if in_dip else 0.0)
        properties: dict[str, Any] = {}
        if person is None:
            if channel == Channel.KIOSK:
                location, languages = KIOSKS[rng.choice(list(KIOSKS))]
                properties = {"location": location}
                language = _pick(rng, languages)
            else:
                language = _pick(rng, ANONYMOUS_LANGUAGES)
            mood += rng.gauss(0, 1.0)
        else:
            language = person.language
            mood += person.mood
            # The snapshot at answer time: the company had not churned yet.
            properties = {k: v for k, v in person.properties.items() if k != "churned_at"}
            churned = person.company.churned
            if churned and (churned - day).days < PRE_CHURN_DAYS:
                mood += PRE_CHURN_EFFECT
        mood += rng.gauss(0, ANSWER_NOISE)
        survey = surveys[kind]
        score, tone = _score(rng, kind, mood)
        comment = ""
        rates = COMMENT_RATE.get(kind, COMMENT_RATE_SUPPORT)
        if rng.random() < rates[tone]:
            weights = _theme_weights(kind, tone, in_dip, person)
            comment = _comment(rng, language, tone, weights)
        hour = rng.choices(ANSWER_HOURS, weights=ANSWER_HOUR_WEIGHTS)[0]
        at = time(hour, rng.randrange(60), rng.randrange(60))
        answers.append(
            Response(
                workspace=workspace,
                survey=survey,
                contact=person.contact if person else None,
                score=score,
                scale_min=survey.scale_min,
                scale_max=survey.scale_max,
                comment=comment,
                language=language,
                comment_language=language if comment else "",
                channel=channel,
                properties=properties,
                source_ref=_source_ref(rng, kind, channel),
                created_at=_at(day, at, tz),
            )
        )
    return answers


def _active_person(rng: random.Random, people: list[_Person], day: date) -> _Person | None:
    """A contact whose company was a customer on that day (None if none is found)."""
    for _ in range(200):
        person = rng.choice(people)
        company = person.company
        if company.since <= day and (company.churned is None or day < company.churned):
            return person
    return None


def _score(rng: random.Random, kind: str, mood: float) -> tuple[int, str]:
    """The answer on the survey's scale and its tone (neg/mid/pos)."""
    if kind == "nps":
        score = min(10, max(0, math.floor(mood + 0.5)))
        return score, "neg" if score <= 6 else "mid" if score <= 8 else "pos"
    if kind == "csat":
        score = min(5, max(1, math.floor(mood / 2 + rng.gauss(0, 0.35) + 0.5)))
        return score, "neg" if score <= 2 else "mid" if score == 3 else "pos"
    score = min(7, max(1, math.floor(mood * 0.65 + 0.6 + rng.gauss(0, 0.4) + 0.5)))
    return score, "neg" if score <= 3 else "mid" if score <= 5 else "pos"


def _theme_weights(kind: str, tone: str, in_dip: bool, person: _Person | None) -> dict[str, float]:
    weights = dict(THEME_WEIGHTS[tone])
    if kind != "nps":
        for theme, factor in SUPPORT_THEME_FACTORS.items():
            weights[theme] *= factor
    if in_dip and tone != "pos":
        weights["delivery"] *= 5  # the warehouse move
    if person is not None and person.company.plan == "basic" and tone == "neg":
        weights["price"] *= 2
        weights["support"] *= 1.5
    return weights


def _comment(rng: random.Random, language: str, tone: str, weights: dict[str, float]) -> str:
    if rng.random() < 0.1:
        return rng.choice(GENERIC[language][tone])
    bank = BANK[language]
    first = _pick(rng, weights)
    others = {theme: w for theme, w in weights.items() if theme != first}
    if tone == "mid" and rng.random() < 0.4:
        # "Great boots. The app could be faster." - praise and a reservation.
        parts = [rng.choice(bank[first]["pos"]), rng.choice(bank[_pick(rng, others)]["mid"])]
    else:
        parts = [rng.choice(bank[first][tone])]
        if rng.random() < (0.3 if tone == "neg" else 0.2):
            parts.append(rng.choice(bank[_pick(rng, others)][tone]))
    if rng.random() < 0.3:
        extra = rng.choice(EXTRAS[language][tone])
        parts.insert(0 if rng.random() < 0.3 else len(parts), extra)
    return " ".join(parts).replace("{n}", str(rng.randint(3, 14)))


def _source_ref(rng: random.Random, kind: str, channel: str) -> str:
    if channel == Channel.IMPORT:
        return f"delighted:{rng.randint(10**6, 10**7 - 1)}"
    if channel == Channel.API:
        system = "zendesk:ticket" if kind != "nps" else "crm:order"
        return f"{system}/{rng.randint(10**4, 10**6 - 1)}"
    return ""
