"""`kaiku demo`: a deterministic, realistic demo workspace."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.test import TestCase
from django.urls import reverse

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.contacts.models import Contact
from kaiku.demo.generate import DEMO_EMAIL, TIME_ZONE
from kaiku.metrics import NpsCounts, compare_nps, nps
from kaiku.responses.models import Channel, Response

NOW = "2026-03-11"  # dip quarter: 2025-Q3 (two quarters before 2026-Q1)
SMALL = ("--contacts", "200", "--responses", "600")


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(rf"login {re.escape(DEMO_EMAIL)} / (\S+)", output)
    assert match, output
    return match.group(1)


def wipe() -> None:
    Workspace.objects.all().delete()  # cascades to surveys, contacts, answers
    User.objects.filter(email=DEMO_EMAIL).delete()


def fingerprint() -> dict[str, object]:
    """Aggregates, plus a digest of every row's content (ids differ between runs)."""
    answers = Response.objects.order_by("created_at", "survey__kind", "score", "comment")
    rows = answers.values_list(
        "survey__kind", "score", "channel", "language", "comment", "properties", "created_at"
    )
    contacts = Contact.objects.order_by("external_id").values_list(
        "external_id", "email", "name", "language", "properties"
    )
    digest = hashlib.sha256()
    for row in [*rows, *contacts]:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    counts = (
        Response.objects.values("survey__kind", "score", "channel", "language")
        .annotate(n=Count("id"))
        .order_by("survey__kind", "score", "channel", "language")
    )
    return {"counts": list(counts), "digest": digest.hexdigest()}


def nps_histograms_by(key: str) -> dict[str, NpsCounts]:
    """NPS counts per value of a key: "quarter" (workspace time) or a property name."""
    zone = ZoneInfo(TIME_ZONE)
    scores: dict[str, list[int]] = defaultdict(list)
    for created_at, score, properties in Response.objects.filter(survey__kind="nps").values_list(
        "created_at", "score", "properties"
    ):
        if key == "quarter":
            local = created_at.astimezone(zone)
            scores[f"{local.year}-Q{(local.month - 1) // 3 + 1}"].append(score)
        elif key in properties:
            scores[str(properties[key])].append(score)
    return {value: NpsCounts.from_scores(s) for value, s in scores.items()}


class DemoDeterminismTestCase(TestCase):
    def test_the_same_seed_gives_identical_data(self) -> None:
        run_demo("--now", NOW, *SMALL)
        first = fingerprint()
        wipe()
        run_demo("--now", NOW, *SMALL)
        assert fingerprint() == first

    def test_another_seed_gives_other_data(self) -> None:
        run_demo("--now", NOW, *SMALL)
        first = fingerprint()
        wipe()
        run_demo("--now", NOW, "--seed", "7", *SMALL)
        assert fingerprint()["digest"] != first["digest"]

    def test_it_honours_the_sizes_asked_for(self) -> None:
        run_demo("--now", NOW, "--contacts", "50", "--responses", "120")
        assert Contact.objects.count() == 50
        assert Response.objects.count() == 120


class DemoIfEmptyTestCase(TestCase):
    def test_if_empty_does_nothing_when_a_workspace_exists(self) -> None:
        Workspace.objects.create(name="Acme", slug="acme")
        output = run_demo("--if-empty", "--now", NOW, *SMALL)
        assert "already exists" in output
        assert "Demo workspace ready" not in output
        assert Workspace.objects.count() == 1
        assert not Response.objects.exists()

    def test_a_second_run_with_if_empty_keeps_the_data(self) -> None:
        password = printed_password(run_demo("--if-empty", "--now", NOW, *SMALL))
        before = fingerprint()
        run_demo("--if-empty", "--now", NOW, *SMALL)
        assert fingerprint() == before
        assert Workspace.objects.count() == 1
        assert self.client.login(username=DEMO_EMAIL, password=password)

    def test_without_if_empty_it_adds_another_demo_workspace(self) -> None:
        run_demo("--now", NOW, *SMALL)
        password = printed_password(run_demo("--now", NOW, *SMALL))
        assert sorted(Workspace.objects.values_list("slug", flat=True)) == ["demo", "demo-2"]
        # The owner's password is the one printed last, and they own both.
        assert self.client.login(username=DEMO_EMAIL, password=password)
        assert Membership.objects.filter(user__email=DEMO_EMAIL).count() == 2

    def test_a_bad_date_is_refused(self) -> None:
        with pytest.raises(CommandError):
            run_demo("--now", "11.03.2026")


class DemoContentTestCase(TestCase):
    """The full default size, generated once for all the checks below."""

    output: str
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.output = run_demo("--now", NOW)
        cls.workspace = Workspace.objects.get()

    def test_it_prints_the_login(self) -> None:
        # http://127.0.0.1:8000/ unless KAIKU_SITE_URL says otherwise.
        ready = f"Demo workspace ready: {settings.SITE_URL}/  login {DEMO_EMAIL} / "
        assert ready in self.output

    def test_the_owner_logs_in_with_the_printed_password(self) -> None:
        response = self.client.post(
            reverse("accounts:login"),
            {"username": DEMO_EMAIL, "password": printed_password(self.output)},
        )
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        self.assertRedirects(self.client.get(reverse("home")), "/w/demo/")
        page = self.client.get("/w/demo/")
        self.assertContains(page, "Relationship NPS")
        membership = Membership.objects.get(user__email=DEMO_EMAIL)
        assert membership.role == Role.OWNER

    def test_the_workspace_is_set_up_for_three_languages(self) -> None:
        assert self.workspace.time_zone == "Europe/Helsinki"
        assert self.workspace.languages == ["en", "fi", "et"]
        kinds = {s.kind: (s.scale_min, s.scale_max) for s in self.workspace.surveys.all()}
        assert kinds == {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

    def test_it_has_enough_contacts_and_answers(self) -> None:
        assert Contact.objects.count() == 1000
        assert Response.objects.count() >= 3000

    def test_answers_span_18_months_up_to_the_day_before_now(self) -> None:
        zone = ZoneInfo(TIME_ZONE)
        days = [
            c.astimezone(zone).date() for c in Response.objects.values_list("created_at", flat=True)
        ]
        assert max(days) < date(2026, 3, 11)
        assert (date(2026, 3, 11) - min(days)).days <= 548
        assert (date(2026, 3, 11) - min(days)).days > 520

    def test_every_channel_is_used(self) -> None:
        used = set(Response.objects.values_list("channel", flat=True).distinct())
        assert used == set(Channel.values)

    def test_comments_come_in_three_languages(self) -> None:
        commented = Response.objects.exclude(comment="")
        by_language = dict(
            commented.values_list("language").annotate(n=Count("id")).order_by("language")
        )
        assert set(by_language) == {"en", "fi", "et"}
        assert min(by_language.values()) > 150
        # A contact's answers are in the contact's language.
        mismatched = commented.exclude(contact=None).exclude(language=F("contact__language"))
        assert not mismatched.exists()

    def test_comment_themes_differ_between_detractors_and_promoters(self) -> None:
        def share(scores: range, word: str) -> float:
            comments = Response.objects.filter(
                survey__kind="nps", language="en", score__in=list(scores)
            ).exclude(comment="")
            return comments.filter(comment__icontains=word).count() / comments.count()

        assert share(range(0, 7), "expensive") > share(range(9, 11), "expensive")
        assert share(range(9, 11), "quality") > share(range(0, 7), "quality")

    def test_properties_are_a_snapshot_without_the_later_churn(self) -> None:
        answer = Response.objects.exclude(contact=None).select_related("contact").first()
        assert answer is not None
        assert answer.contact is not None
        expected = {k: v for k, v in answer.contact.properties.items() if k != "churned_at"}
        assert answer.properties == expected
        assert set(expected) == {
            "plan",
            "country",
            "company",
            "company_size",
            "product",
            "support_channel",
            "customer_since",
        }

    def test_churned_contacts_answer_before_they_leave_and_score_lower(self) -> None:
        churned = {
            c.pk: date.fromisoformat(c.properties["churned_at"])
            for c in Contact.objects.filter(properties__has_key="churned_at")
        }
        assert len(churned) > 50
        zone = ZoneInfo(TIME_ZONE)
        churned_scores, other_scores = [], []
        for contact_id, created_at, score in Response.objects.filter(
            survey__kind="nps", contact__isnull=False
        ).values_list("contact_id", "created_at", "score"):
            if contact_id in churned:
                assert created_at.astimezone(zone).date() < churned[contact_id]
                churned_scores.append(score)
            else:
                other_scores.append(score)
        churned_counts = NpsCounts.from_scores(churned_scores)
        other_counts = NpsCounts.from_scores(other_scores)
        assert compare_nps(churned_counts, other_counts).p_value < 0.01
        assert nps(churned_counts) < nps(other_counts) - 20

    def test_the_dip_quarter_is_clearly_lower_than_its_neighbours(self) -> None:
        quarters = nps_histograms_by("quarter")
        dip = quarters["2025-Q3"]
        for neighbour in ("2025-Q2", "2025-Q4"):
            with self.subTest(neighbour=neighbour):
                assert nps(dip) < nps(quarters[neighbour]) - 15
                assert compare_nps(dip, quarters[neighbour]).p_value < 0.01

    def test_the_basic_plan_is_significantly_worse_than_the_rest(self) -> None:
        plans = nps_histograms_by("plan")
        basic = plans.pop("basic")
        rest = sum(plans.values(), NpsCounts(0, 0, 0))
        assert nps(basic) < nps(rest) - 20
        assert compare_nps(basic, rest).p_value < 0.01


class DemoPipelinesTestCase(TestCase):
    """The demo opens complete: themes assigned and the last week's detractors followed up."""

    def test_themes_and_cases_are_ready_without_a_worker(self) -> None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        import time_machine

        from kaiku.loop.models import Case
        from kaiku.themes.models import ResponseTheme, Taxonomy

        noon = datetime(2026, 3, 11, 12, tzinfo=ZoneInfo(TIME_ZONE))
        with time_machine.travel(noon, tick=False):
            output = run_demo("--now", NOW)
        taxonomy = Taxonomy.objects.get()
        assert taxonomy.is_current, "the Themes pages do not say 'being recomputed'"
        commented = Response.objects.exclude(comment="").count()
        themed = ResponseTheme.objects.values("response").distinct().count()
        assert themed > 0.8 * commented, (themed, commented)  # short generic ones match none
        cases = Case.objects.select_related("response")
        assert cases.exists()
        week_before = noon - timedelta(days=7)
        for case in cases:
            assert case.response.created_at >= week_before
            assert case.response.score <= 6 or case.response.survey.kind != "nps"
        assert f"{cases.count()} follow-up cases opened" in output
