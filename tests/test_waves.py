"""Recurring waves: the pages, and the daily run (cap, every_days, order, window, once a day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.urls import reverse

from kaiku.contacts.models import Contact
from kaiku.lib.periodic import registered
from kaiku.surveys.models import Invitation, InvitationStatus, Survey, Wave
from kaiku.surveys.sending import SendSummary
from kaiku.surveys.waves import run_due_waves, run_wave
from tests.base import BaseTestCase

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 10:00 in Helsinki


def run_at(wave: Wave, when: datetime) -> SendSummary | None:
    """Run the wave with the clock at `when` (sending reads the clock too)."""
    with time_machine.travel(when, tick=False):
        return run_wave(wave)


class WaveCase(BaseTestCase):
    contacts: list[Contact]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.contacts = [
            Contact.objects.create(
                workspace=cls.workspace,
                email=f"c{i}@example.org",
                properties={"segment": "b2b" if i < 6 else "b2c"},
            )
            for i in range(8)
        ]

    def wave(self, **fields: object) -> Wave:
        values: dict[str, object] = {
            "workspace": self.workspace,
            "survey": self.survey,
            "name": "Quarterly",
            "every_days": 90,
            "daily_cap": 3,
            "contact_filter": {"properties": [{"name": "segment", "op": "eq", "value": "b2b"}]},
        }
        values.update(fields)
        return Wave.objects.create(**values)

    def invited(self, wave: Wave) -> list[str]:
        rows = Invitation.objects.filter(wave=wave).select_related("contact").order_by("send_at")
        return [i.contact.email or "" for i in rows]


class WaveRunTest(WaveCase):
    def test_the_job_is_registered_with_the_workers(self) -> None:
        self.assertIn("surveys.run_due_waves", [job.name for job in registered()])

    def test_a_run_respects_the_daily_cap_and_spreads_over_the_working_day(self) -> None:
        wave = self.wave()
        summary = run_at(wave, MONDAY)
        assert summary is not None
        self.assertEqual(summary.scheduled, 3)
        times = list(
            Invitation.objects.filter(wave=wave)
            .order_by("send_at")
            .values_list("send_at", flat=True)
        )
        # 10:00–17:00 Helsinki is 08:00–15:00 UTC: three sends 2 h 20 min apart.
        step = timedelta(hours=7) / 3
        self.assertEqual(times, [MONDAY, MONDAY + step, MONDAY + 2 * step])
        self.assertEqual(len(self.invited(wave)), 3)
        self.assertTrue(all(email.startswith("c") for email in self.invited(wave)))

    def test_it_runs_once_a_day_however_often_it_is_called(self) -> None:
        wave = self.wave()
        self.assertIsNotNone(run_at(wave, MONDAY))
        self.assertIsNone(run_at(wave, MONDAY + timedelta(hours=3)))
        with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
            self.assertEqual(run_due_waves(), 0)
        self.assertEqual(Invitation.objects.filter(wave=wave).count(), 3)
        wave.refresh_from_db()
        self.assertEqual(wave.last_run_on, MONDAY.date())

    def test_the_next_day_takes_the_next_contacts_least_recently_surveyed_first(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Old survey")
        # c5 was surveyed a year ago, c4 two years ago; the others never.
        for index, years in ((5, 1), (4, 2)):
            at = MONDAY - timedelta(days=365 * years)
            Invitation.objects.create(
                workspace=self.workspace,
                survey=other,
                contact=self.contacts[index],
                status=InvitationStatus.SENT,
                send_at=at,
                sent_at=at,
            )
        wave = self.wave()
        run_at(wave, MONDAY)
        first = set(self.invited(wave))
        self.assertEqual(first, {"c0@example.org", "c1@example.org", "c2@example.org"})
        run_at(wave, MONDAY + timedelta(days=1))
        second = set(self.invited(wave)) - first
        self.assertEqual(second, {"c3@example.org", "c4@example.org", "c5@example.org"})
        # Everyone matching has had their turn: nobody is asked again within 90 days.
        self.assertEqual(run_at(wave, MONDAY + timedelta(days=2)).scheduled, 0)  # type: ignore[union-attr]

    def test_every_days_brings_a_contact_back_after_the_period(self) -> None:
        self.workspace.recontact_days = 0
        self.workspace.save()
        wave = self.wave(every_days=7, daily_cap=None)
        run_at(wave, MONDAY)
        self.assertEqual(Invitation.objects.filter(wave=wave).count(), 6)
        Invitation.objects.filter(wave=wave).update(status=InvitationStatus.SENT, sent_at=MONDAY)
        run_at(wave, MONDAY + timedelta(days=3))  # Thursday: too early
        self.assertEqual(Invitation.objects.filter(wave=wave).count(), 6)
        run_at(wave, MONDAY + timedelta(days=7))  # next Monday: their turn again
        self.assertEqual(Invitation.objects.filter(wave=wave).count(), 12)

    def test_people_who_cannot_be_asked_do_not_use_up_the_cap(self) -> None:
        for contact in self.contacts[:3]:
            contact.unsubscribed_at = MONDAY
            contact.save()
        wave = self.wave()
        run_at(wave, MONDAY)
        self.assertEqual(
            set(self.invited(wave)), {"c3@example.org", "c4@example.org", "c5@example.org"}
        )

    def test_no_run_at_weekends_after_hours_or_when_paused(self) -> None:
        wave = self.wave()
        saturday = MONDAY - timedelta(days=2)
        evening = MONDAY.replace(hour=15, minute=30)  # 17:30 in Helsinki
        self.assertIsNone(run_at(wave, saturday))
        self.assertIsNone(run_at(wave, evening))
        wave.refresh_from_db()
        self.assertIsNone(wave.last_run_on)  # not claimed: the next working day runs
        Wave.objects.filter(pk=wave.pk).update(is_active=False)
        wave.refresh_from_db()
        self.assertIsNone(run_at(wave, MONDAY))
        self.assertFalse(Invitation.objects.exists())

    def test_an_early_run_starts_at_nine(self) -> None:
        wave = self.wave(daily_cap=1)
        early = MONDAY.replace(hour=4)  # 06:00 in Helsinki
        run_at(wave, early)
        invitation = Invitation.objects.get(wave=wave)
        self.assertEqual(invitation.send_at, MONDAY.replace(hour=7))  # 09:00 Helsinki


class WavePagesTest(WaveCase):
    def url(self, name: str, **kwargs: object) -> str:
        return reverse(
            f"surveys:{name}",
            kwargs={"workspace_slug": "acme", "survey_id": self.survey.pk, **kwargs},
        )

    def test_create_a_wave_with_a_filter(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("waves"),
            {
                "name": "Quarterly NPS",
                "every_days": "90",
                "daily_cap": "50",
                "is_active": "on",
                "prop": ["segment", ""],
                "op": ["eq", "eq"],
                "val": ["b2b", ""],
                "last_surveyed_before": "60",
            },
        )
        self.assertRedirects(response, self.url("waves"))
        wave = Wave.objects.get(survey=self.survey)
        self.assertEqual(
            wave.contact_filter,
            {
                "properties": [{"name": "segment", "op": "eq", "value": "b2b"}],
                "last_surveyed_before": "60",
            },
        )
        page = self.client.get(self.url("waves"))
        self.assertContains(page, "segment is b2b; not surveyed in 60 days")

    def test_a_bad_wave_is_refused_with_the_reasons(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("waves"),
            {"name": "W", "every_days": "0", "prop": ["segment"], "op": ["gt"], "val": [""]},
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "needs a value", status_code=400)
        self.assertFalse(Wave.objects.exists())

    def test_edit_pause_and_resume(self) -> None:
        wave = self.wave()
        self.login_as(self.alice)
        edit = self.url("wave_edit", wave_id=wave.pk)
        self.assertContains(self.client.get(edit), 'value="segment"')
        response = self.client.post(
            edit, {"name": "Monthly", "every_days": "30", "is_active": "on", "language": "fi"}
        )
        self.assertRedirects(response, self.url("waves"))
        wave.refresh_from_db()
        self.assertEqual((wave.name, wave.every_days, wave.daily_cap), ("Monthly", 30, None))
        self.assertEqual(wave.contact_filter, {"language": "fi"})
        toggle = self.url("wave_toggle", wave_id=wave.pk)
        self.assertEqual(self.client.get(toggle).status_code, 405)
        self.client.post(toggle)
        wave.refresh_from_db()
        self.assertFalse(wave.is_active)
        self.client.post(toggle)
        wave.refresh_from_db()
        self.assertTrue(wave.is_active)

    def test_agents_get_403_and_charlie_404(self) -> None:
        wave = self.wave()
        self.login_as(self.bob)
        for name, kwargs in (
            ("waves", {}),
            ("wave_edit", {"wave_id": wave.pk}),
            ("wave_toggle", {"wave_id": wave.pk}),
        ):
            self.assertEqual(self.client.post(self.url(name, **kwargs)).status_code, 403)
        self.assertRefusedToOutsider(self.url("wave_edit", wave_id=wave.pk))
        self.assertRefusedToOutsider(self.url("wave_toggle", wave_id=wave.pk), "post")
        self.client.force_login(self.charlie)
        theirs = reverse("surveys:wave_toggle", args=["globex", self.survey.pk, wave.pk])
        self.assertEqual(self.client.post(theirs).status_code, 404)
        wave.refresh_from_db()
        self.assertTrue(wave.is_active)

    def test_a_wave_of_another_survey_is_404(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        wave = self.wave(survey=other)
        self.login_as(self.alice)
        self.assertEqual(self.client.get(self.url("wave_edit", wave_id=wave.pk)).status_code, 404)
