"""A run reads only what may be undecided: below a goal's mark every conversion is in a
file or excluded, so a night with nothing new reads nothing old, and nothing is passed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from database import db
from export import marks, sources
from export.run import run_export
from leads.models import Conversion

NOW = datetime.now(UTC)
LATER = NOW + timedelta(hours=7)  # conversions recorded now are older than marks.SAFETY
MSCLKID = "f894f652ea334e739002f7167ab8f8e3"


def convert(app, seed, goal, count: int, first: int = 0) -> list[int]:
    ids = []
    for n in range(first, first + count):
        lead = seed.lead(created_at=NOW - timedelta(days=2),
                         click_ids=(("msclkid", "microsoft", f"{n:032x}"),))  # fmt: skip
        ids.append(seed.conversion(lead, goal, converted_at=NOW - timedelta(hours=3 + n / 60)))
    return ids


def statements_of_a_run(app, folder, clock) -> int:
    counted = []
    with app.app_context():
        listener = lambda *args: counted.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            report = run_export(str(folder), clock=lambda: clock)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert not report.files
    return len(counted)


def test_a_night_with_nothing_new_costs_the_same_whatever_the_history(
    app, seed, tmp_path, monkeypatch
):
    monkeypatch.setattr(sources, "BATCH_SIZE", 10)  # pages of 10: history would show
    goal = seed.goal("Closed won", created_at=NOW - timedelta(days=3), google_action_name=None)
    first = convert(app, seed, goal, 3)
    with app.app_context():
        assert run_export(str(tmp_path), clock=lambda: LATER).rows["microsoft-conversions"] == 3
        assert marks.settled_below(goal, "microsoft") == first[-1] + 1
    few = statements_of_a_run(app, tmp_path, LATER)
    convert(app, seed, goal, 60, first=3)
    with app.app_context():
        assert run_export(str(tmp_path), clock=lambda: LATER).rows["microsoft-conversions"] == 60
    assert statements_of_a_run(app, tmp_path, LATER) == few  # 63 old conversions, as for 3


def test_a_held_conversion_keeps_the_mark_below_it_until_it_goes_out(app, seed, tmp_path):
    goal = seed.goal("Closed won", created_at=NOW - timedelta(days=3), google_action_name=None)
    held, out = convert(app, seed, goal, 2)
    with app.app_context():
        late = db.session.get(Conversion, held)
        late.converted_at = LATER + timedelta(hours=1)  # ahead of the run's clock: held
        db.session.commit()
        first = run_export(str(tmp_path), clock=lambda: LATER)
        assert first.rows["microsoft-conversions"] == 1
        assert marks.settled_below(goal, "microsoft") == held
        second = run_export(str(tmp_path), clock=lambda: LATER + timedelta(hours=3))
        assert second.rows["microsoft-conversions"] == 1
        assert marks.settled_below(goal, "microsoft") == out + 1


def test_a_conversion_committed_late_with_a_smaller_id_is_not_passed(app, seed, tmp_path):
    goal = seed.goal("Closed won", created_at=NOW - timedelta(days=3), google_action_name=None)
    lead = seed.lead(created_at=NOW - timedelta(days=3),
                     click_ids=(("msclkid", "microsoft", MSCLKID),))  # fmt: skip
    exported = []
    with app.app_context():
        # ID 50 commits first; ID 10 was taken earlier by a transaction still open then.
        for conversion_id, clock in ((50, NOW + timedelta(minutes=10)),
                                     (10, NOW + timedelta(minutes=20))):  # fmt: skip
            db.session.add(Conversion(id=conversion_id, lead_id=lead, goal_id=goal,
                                      converted_at=NOW - timedelta(hours=conversion_id),
                                      created_at=NOW, value=1, currency="USD"))  # fmt: skip
            db.session.commit()
            report = run_export(str(tmp_path), clock=lambda c=clock: c)
            exported.append(report.rows["microsoft-conversions"])
    assert exported == [1, 1]
