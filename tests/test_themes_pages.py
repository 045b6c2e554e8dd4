"""Themes in the app: assignment at collection, recompute, taxonomy actions, pages, API, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User
from kaiku.api.actions import create_api_key
from kaiku.metrics import NpsCounts, nps
from kaiku.responses.models import Channel, Response
from kaiku.responses.tasks import process_response
from kaiku.themes import actions
from kaiku.themes.assignment import assign_themes, clear_matcher_cache
from kaiku.themes.models import ResponseTheme, Source, Taxonomy, Theme, ThemeKeyword
from kaiku.themes.queries import parse_period
from kaiku.themes.report import themes_report
from kaiku.themes.tasks import recompute_workspace
from tests.base import PASSWORD, BaseTestCase

COMMENTS = [
    (2, "The delivery was late again and the parcel was damaged."),
    (3, "Delivery took two weeks, too expensive as well."),
    (1, "Customer service never answered my emails."),
    (8, "Fine products, delivery could be faster."),
    (9, "Great prices and fast delivery."),
    (10, "Customer service was super helpful."),
    (10, ""),
    (6, "Toimitus myöhästyi taas."),
]


class ThemesTestCase(BaseTestCase):
    taxonomy: Taxonomy
    answers: list[Response]
    viewer: User

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.taxonomy = actions.ensure_starter_taxonomy(cls.workspace)
        now = timezone.now()
        cls.answers = [
            Response.objects.create(
                workspace=cls.workspace,
                survey=cls.survey,
                score=score,
                comment=comment,
                language="en",
                comment_language=("fi" if comment.startswith("Toimitus") else "en")
                if comment
                else "",
                channel=Channel.LINK,
                created_at=now - timedelta(days=i + 1),
            )
            for i, (score, comment) in enumerate(COMMENTS)
        ]
        cls.viewer = User.objects.create_user("vera@example.org", PASSWORD)
        Membership.objects.create(workspace=cls.workspace, user=cls.viewer, role=Role.VIEWER)

    def setUp(self) -> None:
        clear_matcher_cache()
        self.alice_membership = Membership.objects.get(user=self.alice)
        self.bob_membership = Membership.objects.get(user=self.bob)

    def theme(self, key: str) -> Theme:
        return Theme.objects.get(workspace=self.workspace, key=key)

    def keys_of(self, response: Response) -> set[str]:
        return set(
            ResponseTheme.objects.filter(response=response, removed=False).values_list(
                "theme__key", flat=True
            )
        )

    def recompute(self) -> dict[str, int] | None:
        return recompute_workspace(self.workspace.pk)

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(
            f"themes:{name}",
            kwargs={"workspace_slug": "acme", "survey_id": self.survey.pk, **kwargs},
        )


class AssignmentTests(ThemesTestCase):
    def test_the_starter_taxonomy_is_created_once(self) -> None:
        assert actions.ensure_starter_taxonomy(self.workspace).pk == self.taxonomy.pk
        keys = set(Theme.objects.filter(workspace=self.workspace).values_list("key", flat=True))
        assert {"delivery", "price", "support", "quality", "usability", "billing"} <= keys
        assert {"onboarding", "performance", "other"} <= keys
        assert ThemeKeyword.objects.filter(theme__key="delivery", language="et").exists()

    def test_assign_themes_is_multi_label_and_idempotent(self) -> None:
        answer = self.answers[1]
        assert assign_themes(answer.pk) is not None
        assign_themes(answer.pk)
        assert self.keys_of(answer) == {"delivery", "price"}
        assert ResponseTheme.objects.filter(response=answer).count() == 2

    def test_the_process_response_job_assigns_themes(self) -> None:
        process_response.call(self.answers[2].pk)
        assert self.keys_of(self.answers[2]) == {"support"}

    def test_finnish_comments_use_finnish_keywords(self) -> None:
        assign_themes(self.answers[7].pk)
        assert self.keys_of(self.answers[7]) == {"delivery"}

    def test_a_gone_response_is_ignored(self) -> None:
        assert assign_themes(10**9) is None

    def test_recompute_is_idempotent(self) -> None:
        first = self.recompute()
        assert first is not None
        assert first["added"] > 0
        snapshot = set(ResponseTheme.objects.values_list("response_id", "theme_id"))
        second = self.recompute()
        assert second == {"answers": first["answers"], "added": 0, "deleted": 0}
        assert set(ResponseTheme.objects.values_list("response_id", "theme_id")) == snapshot
        assert Taxonomy.objects.get(pk=self.taxonomy.pk).is_current

    def test_manual_tags_override_automatic_assignment(self) -> None:
        answer = self.answers[0]
        assign_themes(answer.pk)
        assert "delivery" in self.keys_of(answer)
        actions.tag_response(self.bob_membership, answer, self.theme("delivery"), present=False)
        actions.tag_response(self.bob_membership, answer, self.theme("billing"), present=True)
        self.recompute()
        assign_themes(answer.pk)
        assert "delivery" not in self.keys_of(answer)
        assert "billing" in self.keys_of(answer)
        link = ResponseTheme.objects.get(response=answer, theme=self.theme("delivery"))
        assert (link.source, link.removed) == (Source.MANUAL, True)

    def test_a_viewer_cannot_tag(self) -> None:
        viewer = Membership.objects.get(user=self.viewer)
        with self.assertRaises(PermissionDenied):
            actions.tag_response(viewer, self.answers[0], self.theme("price"), present=True)


class TaxonomyActionTests(ThemesTestCase):
    def test_changes_bump_the_version_and_queue_a_recompute(self) -> None:
        with self.captureOnCommitCallbacks() as callbacks:
            actions.set_keywords(
                self.alice_membership, self.theme("price"), "en", ["price", "cost"]
            )
        assert len(callbacks) == 1
        assert Taxonomy.objects.get(pk=self.taxonomy.pk).version == self.taxonomy.version + 1
        assert set(
            ThemeKeyword.objects.filter(theme__key="price", language="en").values_list(
                "phrase", flat=True
            )
        ) == {"price", "cost"}

    def test_new_keywords_take_effect_on_recompute(self) -> None:
        actions.create_theme(self.alice_membership, "Products", {"en": ["products"]})
        self.recompute()
        assert "products" in self.keys_of(self.answers[3])

    def test_merge_moves_keywords_and_tags(self) -> None:
        self.recompute()
        support, delivery = self.theme("support"), self.theme("delivery")
        actions.tag_response(self.alice_membership, self.answers[5], support, present=True)
        actions.merge_themes(self.alice_membership, support, delivery)
        support.refresh_from_db()
        assert not support.is_active
        assert support.merged_into == delivery
        assert not ResponseTheme.objects.filter(theme=support).exists()
        assert "delivery" in self.keys_of(self.answers[2])  # was support
        manual = ResponseTheme.objects.get(response=self.answers[5], theme=delivery)
        assert manual.source == Source.MANUAL
        assert ThemeKeyword.objects.filter(theme=delivery, phrase="customer service").exists()
        self.recompute()
        assert "delivery" in self.keys_of(self.answers[2])

    def test_split_moves_the_chosen_keywords_to_a_new_theme(self) -> None:
        delivery = self.theme("delivery")
        new = actions.split_theme(self.alice_membership, delivery, "Parcels", {"en": ["parcel"]})
        assert list(new.keywords.values_list("phrase", flat=True)) == ["parcel"]
        assert not delivery.keywords.filter(language="en", phrase="parcel").exists()
        self.recompute()
        assert {"delivery", new.key} <= self.keys_of(self.answers[0])

    def test_bad_keywords_and_names_are_refused(self) -> None:
        from django.core.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            actions.set_keywords(self.alice_membership, self.theme("price"), "en", ["x*"])
        with self.assertRaises(ValidationError):
            actions.create_theme(self.alice_membership, "   ")

    def test_agents_cannot_change_the_taxonomy(self) -> None:
        with self.assertRaises(PermissionDenied):
            actions.rename_theme(self.bob_membership, self.theme("price"), "Cost")


class PageTests(ThemesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.recompute()

    def test_the_table_figures_match_the_formulas(self) -> None:
        zone = self.workspace.tzinfo
        today = timezone.now().astimezone(zone).date()
        report = themes_report(self.survey, parse_period(None, None, zone, today))
        total = NpsCounts(3, 1, 4)
        assert report.total.n == 8
        assert report.comments == 7
        row = next(r for r in report.rows if r.theme.key == "delivery")
        theme = NpsCounts(1, 1, 3)  # answers 0, 1, 3, 4, 7
        assert row.figures.mentions == 5
        expected = theme.n * (nps(theme) - nps(total)) / (total.n - theme.n)
        assert abs((row.figures.impact or 0) - expected) < 1e-9
        assert abs((row.figures.points_at_stake or 0) - 100 * 3 / 8) < 1e-9
        assert abs((row.figures.detractor_share or 0) - 75.0) < 1e-9
        impacts = [r.figures.impact for r in report.rows if r.figures.impact is not None]
        assert impacts == sorted(impacts)

    def test_the_impact_page_shows_the_table(self) -> None:
        self.login_as(self.bob)
        with self.assertNumQueries(9):  # constant, whatever the number of answers
            response = self.client.get(self.url("impact"))
        assert response.status_code == 200
        self.assertContains(response, "Delivery")
        self.assertContains(response, "Points at stake")
        self.assertContains(response, "adjusted for")

    def test_the_date_range_is_kept_in_links(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("impact") + "?from=2020-01-01&to=2020-01-31")
        self.assertContains(response, "from=2020-01-01&amp;to=2020-01-31")
        self.assertContains(response, "0 answers")

    def test_drill_down_lists_the_comments_escaped(self) -> None:
        Response.objects.filter(pk=self.answers[0].pk).update(
            comment="<script>alert(1)</script> delivery late"
        )
        self.recompute()
        self.login_as(self.bob)
        response = self.client.get(self.url("theme", theme_id=self.theme("delivery").pk))
        assert response.status_code == 200
        self.assertContains(response, "&lt;script&gt;")
        self.assertNotContains(response, "<script>alert")
        self.assertContains(response, "Delivery took two weeks")

    def test_passives_view(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("passives"))
        self.assertContains(response, "What holds passives back")
        self.assertContains(response, 'data-theme="delivery"')

    def test_discovery_page_and_accepting_a_suggestion(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("discover") + "?language=en")
        assert response.status_code == 200
        response = self.client.post(
            self.url("accept"), {"name": "Emails", "language": "en", "terms": "email, NOT_reply"}
        )
        assert response.status_code == 302
        theme = Theme.objects.get(workspace=self.workspace, name="Emails")
        assert set(theme.keywords.values_list("phrase", flat=True)) == {"email", "reply"}

    def test_csv_export_has_the_same_numbers(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("export"))
        assert response["Content-Type"].startswith("text/csv")
        lines = response.content.decode().splitlines()
        assert lines[0].startswith("id,key,name,mentions")
        assert any(",delivery," in line for line in lines[1:])

    def test_taxonomy_page_edits_for_managers_only(self) -> None:
        price = self.theme("price")
        self.login_as(self.alice)
        self.assertContains(self.client.get(self.url("taxonomy")), "Save keywords")
        response = self.client.post(
            self.url("theme_edit", theme_id=price.pk), {"operation": "rename", "name": "Cost"}
        )
        assert response.status_code == 302
        price.refresh_from_db()
        assert price.name == "Cost"
        self.login_as(self.bob)
        self.assertNotContains(self.client.get(self.url("taxonomy")), "Save keywords")

    def test_agents_get_403_on_taxonomy_edits(self) -> None:
        self.login_as(self.bob)
        price = self.theme("price")
        for url, data in [
            (self.url("theme_create"), {"name": "New"}),
            (self.url("theme_edit", theme_id=price.pk), {"operation": "rename", "name": "X"}),
            (self.url("accept"), {"name": "X", "language": "en", "terms": "x"}),
        ]:
            with self.subTest(url=url):
                assert self.client.post(url, data).status_code == 403

    def test_agents_may_tag_answers_and_viewers_may_not(self) -> None:
        url = self.url("tag", response_id=self.answers[2].pk)
        data = {"theme": self.theme("billing").pk, "operation": "add"}
        self.login_as(self.viewer)
        assert self.client.post(url, data).status_code == 403
        self.login_as(self.bob)
        assert self.client.post(url, data).status_code == 302
        assert "billing" in self.keys_of(self.answers[2])

    def test_charlie_gets_404_on_every_themes_route(self) -> None:
        theme_id = self.theme("price").pk
        response_id = self.answers[0].pk
        for url in [
            self.url("impact"),
            self.url("passives"),
            self.url("export"),
            self.url("discover"),
            self.url("accept"),
            self.url("taxonomy"),
            self.url("theme_create"),
            self.url("theme_edit", theme_id=theme_id),
            self.url("theme", theme_id=theme_id),
            self.url("tag", response_id=response_id),
        ]:
            for method in ("get", "post"):
                with self.subTest(url=url, method=method):
                    self.assertRefusedToOutsider(url, method)

    def test_another_workspaces_theme_is_404(self) -> None:
        actions.ensure_starter_taxonomy(self.charlies_workspace)
        foreign = Theme.objects.filter(workspace=self.charlies_workspace).first()
        assert foreign is not None
        self.login_as(self.alice)
        assert self.client.get(self.url("theme", theme_id=foreign.pk)).status_code == 404


class ApiTests(ThemesTestCase):
    def test_the_api_returns_the_table(self) -> None:
        self.recompute()
        _key, token = create_api_key(self.workspace, "t", "read", None, self.alice)
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/surveys/{self.survey.pk}/themes"
        response = self.client.get(url, headers=headers)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["nps"]["n"] == 8
        delivery = next(t for t in body["themes"] if t["key"] == "delivery")
        assert delivery["mentions"] == 5
        assert set(delivery) >= {"impact", "impact_ci95", "points_at_stake", "q_value"}
        bad = self.client.get(url + "?from=yesterday", headers=headers)
        assert bad.status_code == 422

    def test_another_workspaces_survey_is_404(self) -> None:
        _key, token = create_api_key(self.charlies_workspace, "g", "read", None, self.charlie)
        response = self.client.get(
            f"/api/v1/surveys/{self.survey.pk}/themes",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 404
