"""The daily significant-drop check and the daily digest, on hand-built answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.test import override_settings

from kaiku.accounts.models import User
from kaiku.lib.periodic import registered
from kaiku.loop.daily import build_digest, send_due_digests
from kaiku.loop.drops import Outcome, check_drops, compare_periods
from kaiku.loop.models import AlertDelivery, AlertPreference, DropCheck
from kaiku.metrics import NpsCounts, compare_nps
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.smtp import SmtpTestMixin, text_part
from tests.test_loop_base import LoopTestCase
from tests.webhook_server import WebhookReceiver

HELSINKI = ZoneInfo("Europe/Helsinki")
# A morning in Helsinki, past the daily hour (7): today is 2026-03-20.
MORNING = datetime(2026, 3, 20, 8, 0, tzinfo=HELSINKI)


def local(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=HELSINKI)


def p_of(outcome: Outcome) -> float:
    assert outcome.p_value is not None
    return outcome.p_value


def histogram(promoters: int, passives: int, detractors: int) -> list[int]:
    hist = [0] * 11
    hist[10], hist[8], hist[3] = promoters, passives, detractors
    return hist


class DropTestCase(LoopTestCase):
    def add_answers(
        self, survey: Survey, day: int, promoters: int, passives: int, detractors: int
    ) -> None:
        """Answers on a local day (bulk: no cases, exactly the counts asked for)."""
        scores = [10] * promoters + [8] * passives + [3] * detractors
        Response.objects.bulk_create(
            Response(
                workspace=self.workspace,
                survey=survey,
                score=score,
                scale_min=0,
                scale_max=10,
                channel="api",
                created_at=local(day) + timedelta(minutes=i),
            )
            for i, score in enumerate(scores)
        )


class CompareTest(DropTestCase):
    def test_the_comparison_is_the_products_two_sample_test(self) -> None:
        recent, previous = histogram(30, 20, 50), histogram(60, 20, 20)
        outcome = compare_periods(self.survey, recent, previous)
        expected = compare_nps(NpsCounts(30, 20, 50), NpsCounts(60, 20, 20))
        assert (outcome.delta, outcome.p_value) == (expected.delta, expected.p_value)
        assert outcome.delta == -60
        assert p_of(outcome) < 0.001
        assert (outcome.value_recent, outcome.value_previous) == (-20, 40)
        assert outcome.significant_drop
        assert not outcome.low_base

    def test_noise_and_low_bases_are_not_drops(self) -> None:
        noise = compare_periods(self.survey, histogram(46, 30, 24), histogram(50, 30, 20))
        assert noise.delta == -8
        assert p_of(noise) > 0.05
        assert not noise.significant_drop
        # 10 promoters then 10 detractors: p is tiny, but 10 answers are a low base.
        small = compare_periods(self.survey, histogram(0, 0, 10), histogram(10, 0, 0))
        assert p_of(small) < 0.05
        assert small.low_base
        assert not small.significant_drop
        empty = compare_periods(self.survey, histogram(0, 0, 0), histogram(50, 0, 0))
        assert empty.p_value is None
        assert not empty.significant_drop
        rise = compare_periods(self.survey, histogram(60, 20, 20), histogram(30, 20, 50))
        assert p_of(rise) < 0.05
        assert not rise.significant_drop

    def test_csat_compares_the_top_two_box(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="CSAT", kind="csat")
        recent, previous = [0] * 11, [0] * 11
        recent[5], recent[2] = 40, 60
        previous[5], previous[2] = 80, 20
        outcome = compare_periods(csat, recent, previous)
        assert (outcome.value_recent, outcome.value_previous) == (40, 80)
        assert outcome.significant_drop


class DropCheckTest(SmtpTestMixin, DropTestCase):
    def test_a_real_drop_alerts_once_a_day(self) -> None:
        self.add_answers(self.survey, 8, 60, 20, 20)  # previous 7 days: NPS 40
        self.add_answers(self.survey, 16, 30, 20, 50)  # last 7 days: NPS -20
        with time_machine.travel(MORNING, tick=False), self.captureOnCommitCallbacks(execute=True):
            assert check_drops() == 1
            assert check_drops() == 0  # once a day, however many workers
        week = DropCheck.objects.get(survey=self.survey, window_days=7)
        assert (week.day.isoformat(), week.n_recent, week.n_previous) == ("2026-03-20", 100, 100)
        assert (week.value_previous, week.value_recent, week.delta) == (40, -20, -60)
        assert week.significant_drop
        month = DropCheck.objects.get(survey=self.survey, window_days=30)
        assert month.n_previous == 0
        assert not month.significant_drop
        messages = self.smtp.wait_for(2)  # drop alerts are on for owners and admins
        assert sorted(m["To"] for m in messages) == ["alice@example.org", "dana@example.org"]
        assert messages[0]["Subject"] == "Significant drop in Relationship NPS"
        text = text_part(messages[0])
        assert "-60.0" in text
        assert "40.0" in text
        assert "n = 100 / 100" in text
        assert "/w/acme/surveys/" in text
        assert "/dashboard/" in text

    def test_noise_and_low_bases_alert_nobody(self) -> None:
        noisy = Survey.objects.create(workspace=self.workspace, name="Noisy")
        self.add_answers(noisy, 8, 50, 30, 20)
        self.add_answers(noisy, 16, 46, 30, 24)
        self.add_answers(self.survey, 8, 10, 0, 0)
        self.add_answers(self.survey, 16, 0, 0, 10)
        with time_machine.travel(MORNING, tick=False), self.captureOnCommitCallbacks(execute=True):
            assert check_drops() == 0
        low = DropCheck.objects.get(survey=self.survey, window_days=7)
        assert low.p_value is not None
        assert low.p_value < 0.05
        assert low.low_base
        assert not DropCheck.objects.filter(significant_drop=True).exists()
        assert self.smtp.messages == []

    def test_checks_wait_for_the_local_morning(self) -> None:
        with time_machine.travel(MORNING.replace(hour=6, minute=59), tick=False):
            assert check_drops() == 0
        assert not DropCheck.objects.exists()
        with time_machine.travel(MORNING, tick=False):
            check_drops()
        assert DropCheck.objects.filter(day="2026-03-20").count() == 2

    @override_settings(WEBHOOKS_ALLOW_PRIVATE=True)
    def test_the_team_channel_gets_the_drop_too(self) -> None:
        self.add_answers(self.survey, 8, 60, 20, 20)
        self.add_answers(self.survey, 16, 30, 20, 50)
        with WebhookReceiver() as team:
            self.loop_settings(slack_webhook_url=team.url)
            with (
                time_machine.travel(MORNING, tick=False),
                self.captureOnCommitCallbacks(execute=True),
            ):
                check_drops()
            team.wait_idle()
        [post] = team.requests
        assert "Significant drop in Relationship NPS" in post.json()["text"]
        assert "7 d: 40.0 → -20.0" in post.json()["text"]
        assert AlertDelivery.objects.filter(kind="drop", channel="slack", status="sent").exists()


class DigestTest(SmtpTestMixin, DropTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.add_answers(self.survey, 19, 4, 1, 1)  # yesterday: 6 answers, NPS 50
        self.add_answers(self.survey, 18, 3, 0, 0)  # the day before: not in the digest
        with time_machine.travel(local(19, 10), tick=False):
            self.mine = self.case_for(self.answer(2, "Bad", contact=self.ann))
            self.unassigned = self.case_for(self.answer(1, "Worse"))
        self.mine.assignee = self.bob
        self.mine.save()
        with time_machine.travel(local(16, 10), tick=False):
            self.overdue = self.case_for(self.answer(0, "Old"))  # due 2026-03-18
        self.add_answers(self.survey, 8, 60, 20, 20)
        self.add_answers(self.survey, 16, 30, 20, 50)
        self.smtp.clear()

    def opt_in(self, *users: User) -> None:
        for user in users:
            AlertPreference.objects.create(membership=self.membership(user), digest=True)

    def test_the_digest_lists_answers_cases_overdue_and_drops(self) -> None:
        self.opt_in(self.alice)
        with time_machine.travel(MORNING, tick=False):
            digest = build_digest(self.membership(self.alice), MORNING.date())
        assert digest.day.isoformat() == "2026-03-19"
        [line] = digest.answers
        # Six bulk answers and the two case answers (2 and 1): 8 answers, P 4, D 3.
        assert (line["n"], line["figure"]) == (8, "NPS 12.5")
        assert digest.new_case_count == 2
        assert {c.pk for c in digest.new_cases} == {self.mine.pk, self.unassigned.pk}
        assert [c.pk for c in digest.overdue_cases] == [self.overdue.pk]
        assert [d.window_days for d in digest.drops] == [7]

    def test_digests_go_to_those_who_opted_in_once_a_day(self) -> None:
        self.opt_in(self.alice, self.bob)
        with time_machine.travel(MORNING, tick=False), self.captureOnCommitCallbacks(execute=True):
            assert send_due_digests() == 2
            assert send_due_digests() == 0
        # Two digests, and the drop alert that today's check (run by the first
        # digest) sends to Dana; Alice's saved preferences have drop alerts off.
        messages = self.smtp.wait_for(3)
        digests = {m["To"]: m for m in messages if "digest" in m["Subject"]}
        assert [m["To"] for m in messages if "drop" in m["Subject"]] == ["dana@example.org"]
        assert set(digests) == {"alice@example.org", "bob@example.org"}
        alice = text_part(digests["alice@example.org"]).replace("\r\n", "\n")
        assert "Relationship NPS: 8 (NPS 12.5)" in alice
        assert "New cases: 2" in alice
        assert "Overdue cases: 1" in alice
        # The last 7 days also hold the answers set up for the digest: P 37, D 54 of 112.
        assert "Relationship NPS, last 7 days: 40.0 → -15.2" in alice
        bob = text_part(digests["bob@example.org"]).replace("\r\n", "\n")
        # An agent's digest: his own and the unassigned cases.
        assert "New cases: 2" in bob
        assert "Overdue cases: 1" in bob
        assert AlertDelivery.objects.filter(kind="digest", status="sent").count() == 2
        with time_machine.travel(MORNING + timedelta(days=1), tick=False):
            assert send_due_digests() == 2  # the next morning, again

    def test_an_agent_does_not_see_others_cases_in_the_digest(self) -> None:
        self.mine.assignee = self.dana
        self.mine.save()
        with time_machine.travel(MORNING, tick=False):
            digest = build_digest(self.membership(self.bob), MORNING.date())
        assert {c.pk for c in digest.new_cases} == {self.unassigned.pk}


class PeriodicJobsTest(LoopTestCase):
    def test_the_workers_run_the_loop_sweeps(self) -> None:
        jobs = {job.name: job for job in registered()}
        assert {"loop.overdue", "loop.resurveys", "loop.drops", "loop.digests"} <= set(jobs)
        assert jobs["loop.overdue"].every == timedelta(minutes=5)
        for name in ("loop.overdue", "loop.resurveys", "loop.drops", "loop.digests"):
            jobs[name].func()  # nothing due: each returns quietly
