"""`flask demo seed`: three weeks of ad clicks, leads and sales in an empty database, so
that the dashboard, the Exports pages and a downloadable file show the product at work.

Everything goes through the code real traffic and staff use (intake, the conversion
rules with their audit, the nightly export), each at the time it would have happened.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import click
from flask import current_app
from flask.cli import with_appcontext

from capture.models import insert_new_clicks
from database import db
from export.run import run_export
from leads.contact import search_words
from leads.conversions import mark_converted, restate, retract
from leads.intake import click_id_rows, lead_values, store_lead
from leads.models import Goal, Lead
from leads.schemas import lead_schema
from leads.submission import split_submission
from staff.models import StaffUser

DAYS = 21
PEOPLE = (
    ("Ingrid Lindqvist", "Nordvik Bygg AB", "SE"), ("José Núñez", "Solar Ibérica", "ES"),
    ("Chloé Dubois", "Atelier Lumière", "FR"), ("Björn Åkesson", "Fjällkraft", "SE"),
    ("Priya Raman", "Raman Dental", "GB"), ("Mateo Rossi", "Rossi & Figli", "IT"),
    ("Grace Okafor", "Lagos Freight", "GB"), ("Søren Mølgaard", "Mølgaard ApS", "DK"),
    ("Léa Martin", "Boulangerie Martin", "FR"), ("Kenji Nakamura", "Nakamura Design", "US"),
    ("Elif Yılmaz", "Yılmaz Tekstil", "DE"), ("Tomás Silva", "Silva Imóveis", "PT"),
    ("Ada Lovelace", "Analytical Engines", "GB"), ("Håkan Berg", "Bergs Måleri", "SE"),
    ("Nora Schmidt", "Schmidt GmbH", "DE"), ("Óscar Álvarez", "Álvarez Abogados", "ES"),
)  # fmt: skip
PHONES = {
    "SE": "070-{:03d} {:02d} {:02d}", "ES": "612 {:03d} {:03d}", "FR": "06 {:02d} {:02d} {:02d} 00",
    "GB": "07700 900{:03d}", "IT": "347 {:03d} {:04d}", "DK": "20 {:02d} {:02d} {:02d}",
    "US": "(425) 555-{:04d}", "DE": "0151 {:04d} {:03d}", "PT": "912 {:03d} {:03d}",
}  # fmt: skip


@dataclass
class Seeded:
    clicks: int = 0
    leads: int = 0
    conversions: int = 0
    files: int = 0


def seed_demo(now: datetime, export_dir: str, rng: random.Random) -> Seeded | None:
    """Fill an empty database with DAYS days of traffic ending at `now`; None if not empty."""
    if db.session.scalar(db.select(Lead.id).limit(1)) or db.session.scalar(
        db.select(Goal.id).limit(1)
    ):
        return None
    actor = db.session.scalar(db.select(StaffUser.id).order_by(StaffUser.id).limit(1))
    signed = Goal(
        name="Signed contract",
        microsoft_goal_name="Signed contract",
        google_action_name="Signed contract",
        default_value=Decimal("1500"),
        default_currency="EUR",
        window_days=90,
        created_at=now - timedelta(days=DAYS),
    )
    meeting = Goal(name="Booked meeting", google_action_name="Booked meeting",
                   google_enhanced=True, window_days=90,
                   created_at=now - timedelta(days=DAYS))  # fmt: skip
    db.session.add_all([signed, meeting])
    db.session.commit()
    seeded, leads = Seeded(), []
    for day in range(DAYS, -1, -1):
        for _ in range(rng.randint(18, 30)):
            at = now - timedelta(days=day, seconds=rng.randint(0, 86_399))
            if at >= now - timedelta(minutes=5):
                continue
            click_id = _click(at, rng)
            seeded.clicks += 1
            if rng.random() < 0.25:  # a quarter of the visitors leave their details
                leads.append(
                    _lead(len(leads), click_id, at + timedelta(minutes=rng.randint(2, 40)), rng)
                )
    leads = [lead for lead in leads if lead.created_at < now - timedelta(minutes=1)]
    seeded.leads = len(leads)
    seeded.conversions = _convert(leads, signed, meeting, now, actor, rng)
    report = run_export(export_dir, clock=lambda: now)
    seeded.files = len(report.files)
    return seeded


def _click(at: datetime, rng: random.Random) -> tuple[str, str] | None:
    """Record an ad click (most visitors come from an ad); return its parameter and ID."""
    if rng.random() < 0.15:
        return None
    if rng.random() < 0.5:
        param, platform, value = "msclkid", "microsoft", secrets.token_hex(16)
    else:
        param, platform = "gclid", "google"
        value = "Cj0KCQiA" + secrets.token_urlsafe(54)[:60]
    db.session.execute(insert_new_clicks(db.engine.dialect.name), [
        {"platform": platform, "param": param, "click_id": value, "first_seen": at,
         "landing_url": f"https://www.example.com/offer?{param}=…"}
    ])  # fmt: skip
    db.session.commit()
    return param, value


def _lead(n: int, click_id, at: datetime, rng: random.Random) -> Lead:
    """Store a lead as the intake would have, at its time."""
    name, company, country = PEOPLE[n % len(PEOPLE)]
    if n >= len(PEOPLE):
        name = f"{name.split()[0]} {PEOPLE[(n * 7 + 3) % len(PEOPLE)][0].split()[1]}"
    user = search_words(name)[0]
    digits = [rng.randint(10, 99) for _ in range(3)]
    pairs = [("name", name), ("email", f"{user}.{n}@example.com"),
             ("phone", PHONES[country].format(*digits)), ("company", company),
             ("country", country), ("message", "Please call me about a quote."),
             ("ad_user_data", "granted" if rng.random() < 0.8 else "denied")]  # fmt: skip
    if click_id:
        pairs.append(click_id)
    config = current_app.config
    submission = split_submission(pairs, config["HONEYPOT_FIELD"])
    fields = lead_schema(config["DEFAULT_COUNTRY"]).load(submission.fields)
    values = lead_values(fields, submission)
    values["status"] = "spam" if n % 23 == 22 else "new"
    public_id, _ = store_lead(values, click_id_rows(submission.params), None,
                              submission.fingerprint(), at)  # fmt: skip
    return db.session.execute(db.select(Lead).where(Lead.public_id == public_id)).scalar_one()


def _convert(leads: list[Lead], signed: Goal, meeting: Goal, now: datetime, actor, rng) -> int:
    """Mark some leads converted as sales staff would, days later; restate and retract a few.
    Recent ones still wait for a run; some never go (spam, a currency Microsoft lacks)."""
    count = 0
    for index, lead in enumerate(leads):
        recent = lead.created_at > now - timedelta(hours=12)  # closed today: waits for a run
        if rng.random() > 0.45 and not recent:
            continue
        goal = signed if rng.random() < 0.6 else meeting
        later = timedelta(hours=rng.randint(3, 24 * 6))
        converted_at = min(lead.created_at + later, now - timedelta(minutes=30))
        if converted_at <= lead.created_at:
            continue
        value = Decimal(rng.choice((900, 1500, 2400, 4800))) if goal is signed else None
        currency = ("MZN" if index % 17 == 5 else "EUR") if value else None
        values = {"converted_at": converted_at.replace(microsecond=0), "value": value,
                  "currency": currency}  # fmt: skip
        conversion = mark_converted(lead, goal, values, converted_at + timedelta(minutes=5), actor)
        count += 1
        if value and index % 11 == 3:
            restate(conversion, {"value": value + 600, "currency": currency},
                    min(converted_at + timedelta(days=1), now), actor)  # fmt: skip
        elif index % 19 == 7:
            retract(conversion, min(converted_at + timedelta(hours=2), now), actor)
        db.session.commit()
    return count


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Fill an empty database with three weeks of demo clicks, leads and sales."""
    seeded = seed_demo(datetime.now(UTC), current_app.config["EXPORT_DIR"], random.Random(2026))  # noqa: S311
    if seeded is None:
        click.echo("The database already holds leads or goals: nothing seeded.")
        return
    click.echo(f"Seeded {seeded.clicks} clicks, {seeded.leads} leads and "
               f"{seeded.conversions} conversions over {DAYS} days; the export wrote "
               f"{seeded.files} files.")  # fmt: skip
