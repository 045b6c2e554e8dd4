"""Survey pages (create, overview, settings tabs, kiosks) and the workspace settings page."""

from __future__ import annotations

import html

from django.urls import reverse

from kaiku.accounts.models import Membership, Role, User
from kaiku.responses.identity import sign_uid
from kaiku.responses.models import KioskDevice
from kaiku.surveys.models import Survey, SurveyText
from tests.base import PASSWORD, BaseTestCase

MANAGER_TABS = ("settings", "texts", "channels", "follow_up", "reminders", "send", "waves")


class SurveyCase(BaseTestCase):
    vera: User

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.vera = User.objects.create_user("vera@example.org", PASSWORD, name="Vera")
        Membership.objects.create(workspace=cls.workspace, user=cls.vera, role=Role.VIEWER)

    def url(self, name: str, survey: Survey | None = None, **kwargs: object) -> str:
        args = {"workspace_slug": "acme", "survey_id": (survey or self.survey).pk, **kwargs}
        return reverse(f"surveys:{name}", kwargs=args)


class CreateSurveyTest(SurveyCase):
    def test_the_kind_gives_the_scale_and_built_in_texts(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            reverse("surveys:new", args=["acme"]),
            {"name": "Support CSAT", "kind": "csat", "default_language": "fi"},
        )
        survey = Survey.objects.get(workspace=self.workspace, name="Support CSAT")
        self.assertRedirects(response, self.url("texts", survey))
        self.assertEqual((survey.scale_min, survey.scale_max), (1, 5))
        self.assertEqual(survey.default_language, "fi")
        self.assertEqual(
            survey.texts("fi").question, "Kuinka tyytyväinen olit yrityksen Acme palveluun?"
        )

    def test_bad_input_is_refused(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            reverse("surveys:new", args=["acme"]),
            {"name": "", "kind": "xyz", "default_language": "sv"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Survey.objects.filter(workspace=self.workspace).count(), 1)

    def test_the_first_screen_links_to_the_survey_and_offers_a_new_one(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(reverse("insights:survey_list", args=["acme"]))
        self.assertContains(page, f'href="{self.url("detail")}"')
        self.assertContains(page, reverse("surveys:new", args=["acme"]))
        self.assertContains(page, reverse("contacts:list", args=["acme"]))
        self.assertContains(page, reverse("workspace_settings", args=["acme"]))
        self.login_as(self.bob)
        page = self.client.get(reverse("insights:survey_list", args=["acme"]))
        self.assertNotContains(page, reverse("surveys:new", args=["acme"]))
        self.assertNotContains(page, reverse("workspace_settings", args=["acme"]))


class RolesTest(SurveyCase):
    def test_agents_and_viewers_see_the_overview_and_log_but_no_settings(self) -> None:
        for user in (self.bob, self.vera):
            self.login_as(user)
            for name in ("detail", "log"):
                with self.subTest(user=user.email, page=name):
                    self.assertEqual(self.client.get(self.url(name)).status_code, 200)
            for name in MANAGER_TABS:
                with self.subTest(user=user.email, page=name):
                    self.assertEqual(self.client.get(self.url(name)).status_code, 403)
                    self.assertEqual(self.client.post(self.url(name)).status_code, 403)
            self.assertEqual(
                self.client.get(reverse("surveys:new", args=["acme"])).status_code, 403
            )

    def test_the_tabs_shown_follow_the_role(self) -> None:
        self.login_as(self.bob)
        page = self.client.get(self.url("detail"))
        self.assertNotContains(page, self.url("send"))
        self.login_as(self.alice)
        page = self.client.get(self.url("detail"))
        for name in MANAGER_TABS:
            self.assertContains(page, self.url(name))

    def test_charlie_gets_404_for_every_tab_of_an_acme_survey(self) -> None:
        for name in ("detail", "log", *MANAGER_TABS):
            self.assertRefusedToOutsider(self.url(name))
            self.assertRefusedToOutsider(self.url(name), "post")
        # Acme's survey id under his own workspace is no survey of his.
        self.client.force_login(self.charlie)
        url = reverse("surveys:settings", args=["globex", self.survey.pk])
        self.assertEqual(self.client.post(url, {"name": "pwned"}).status_code, 404)
        self.survey.refresh_from_db()
        self.assertEqual(self.survey.name, "Relationship NPS")


class GeneralTabTest(SurveyCase):
    def test_it_saves_the_general_settings(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("settings"),
            {"name": "Quarterly NPS", "default_language": "et", "brand_name": "Acme Oy"},
        )
        self.assertRedirects(response, self.url("settings"))
        self.survey.refresh_from_db()
        self.assertEqual(self.survey.name, "Quarterly NPS")
        self.assertFalse(self.survey.is_active)  # unchecked box
        self.assertEqual(self.survey.brand_name, "Acme Oy")

    def test_follow_up_needs_both_text_and_a_web_link(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.url("follow_up"), {"promoter_cta_text": "Review us"})
        self.assertContains(response, "Give both the button text and its link", status_code=400)
        response = self.client.post(
            self.url("follow_up"),
            {"promoter_cta_text": "Review us", "promoter_cta_url": "javascript:alert(1)"},
        )
        self.assertEqual(response.status_code, 400)
        response = self.client.post(
            self.url("follow_up"),
            {
                "promoter_cta_text": "Review us",
                "promoter_cta_url": "https://reviews.example.org/acme",
                "follow_up_enabled": "on",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.survey.refresh_from_db()
        self.assertTrue(self.survey.follow_up_enabled)

    def test_reminders_and_the_recontact_override(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("reminders"), {"reminder_days": "", "recontact_days": "14"}
        )
        self.assertEqual(response.status_code, 302)
        self.survey.refresh_from_db()
        self.assertIsNone(self.survey.reminder_days)
        self.assertEqual(self.survey.effective_recontact_days, 14)
        response = self.client.post(
            self.url("reminders"), {"reminder_days": "0", "recontact_days": "999"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, 'aria-invalid="true"', count=2, status_code=400)


class TextsTabTest(SurveyCase):
    def test_blank_fields_show_the_built_in_text_as_placeholder(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.url("texts") + "?lang=fi")
        self.assertContains(page, 'placeholder="Mitä meidän pitäisi parantaa?"')
        self.assertContains(page, "Follow-up question after a low score (0–6)")

    def test_saving_the_finnish_texts(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("texts"),
            {"language": "fi", "question": "Suosittelisitko meitä?", "thank_you": "Kiitos!"},
        )
        self.assertRedirects(response, self.url("texts") + "?lang=fi")
        self.assertEqual(self.survey.texts("fi").question, "Suosittelisitko meitä?")
        self.assertEqual(self.survey.texts("fi").follow_up_passive, "Mikä tekisi siitä kympin?")
        # All blank again: back to the built-in texts, no empty row kept.
        self.client.post(self.url("texts"), {"language": "fi"})
        self.assertFalse(SurveyText.objects.filter(survey=self.survey).exists())

    def test_preview_shows_unsaved_text_in_the_email_and_the_page(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("texts"),
            {"language": "fi", "question": "Uusi kysymys <b>lihava</b>?", "action": "preview"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertFalse(SurveyText.objects.filter(survey=self.survey).exists())
        email, page = response.context["email"], response.context["respondent_html"]
        self.assertIn("Uusi kysymys &lt;b&gt;lihava&lt;/b&gt;?", email.html)
        self.assertIn("Uusi kysymys &lt;b&gt;lihava&lt;/b&gt;?", page)
        # Both sit in sandboxed iframes, escaped once more for the srcdoc attribute.
        content = response.content.decode()
        self.assertEqual(content.count("sandbox srcdoc="), 2)
        self.assertIn(html.escape("Uusi kysymys &lt;b&gt;lihava&lt;/b&gt;?"), content)
        self.assertNotIn("<b>lihava</b>", content)
        # The whole documents, quotes included, stay inside the attributes.
        self.assertIn(f'srcdoc="{html.escape(str(email.html))}"', content)
        self.assertIn(f'srcdoc="{html.escape(page)}"', content)

    def test_an_unknown_language_is_404(self) -> None:
        self.login_as(self.alice)
        self.assertEqual(self.client.get(self.url("texts") + "?lang=sv").status_code, 404)


class ChannelsTabTest(SurveyCase):
    def test_public_link_signed_link_helper_and_widget_snippet(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(self.url("channels") + "?uid=cust-42")
        self.assertContains(page, f"/s/{self.survey.public_id}/")
        signature = sign_uid(self.workspace, "cust-42")
        self.assertContains(page, f"?uid=cust-42&amp;sig={signature}")
        self.assertContains(page, f'data-survey="{self.survey.public_id}"')
        self.assertContains(page, "/widget/v1/kaiku.js")

    def test_hidden_properties_and_widget_origins_are_validated(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("channels"), {"hidden_properties": "plan, Bad-Name", "widget_origins": ""}
        )
        self.assertContains(response, "is not a valid hidden property name", status_code=400)
        response = self.client.post(
            self.url("channels"),
            {"hidden_properties": "", "widget_origins": "https://app.example.com/path"},
        )
        self.assertContains(response, "is not an origin", status_code=400)
        response = self.client.post(
            self.url("channels"),
            {
                "hidden_properties": "plan source plan",
                "widget_origins": "https://App.example.com/\nhttp://localhost:3000",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.survey.refresh_from_db()
        self.assertEqual(self.survey.hidden_properties, ["plan", "source"])
        self.assertEqual(
            self.survey.widget_origins, ["https://app.example.com", "http://localhost:3000"]
        )


class KioskTest(SurveyCase):
    def test_create_list_and_deactivate_a_kiosk(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("kiosk_create"), {"name": "Front desk", "location": "Helsinki"}
        )
        self.assertRedirects(response, self.url("channels"))
        device = KioskDevice.objects.get(survey=self.survey)
        self.assertEqual((device.workspace_id, device.location), (self.workspace.pk, "Helsinki"))
        page = self.client.get(self.url("channels"))
        self.assertContains(page, f"/k/{device.key}/")
        self.assertEqual(self.client.get(f"/k/{device.key}/").status_code, 200)
        url = self.url("kiosk_deactivate", kioskdevice_id=device.pk)
        self.assertEqual(self.client.get(url).status_code, 405)
        self.assertRedirects(self.client.post(url), self.url("channels"))
        device.refresh_from_db()
        self.assertFalse(device.is_active)
        self.assertEqual(self.client.get(f"/k/{device.key}/").status_code, 410)

    def test_a_kiosk_needs_a_name(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.url("kiosk_create"), {"name": ""})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(KioskDevice.objects.exists())

    def test_kiosks_of_another_survey_or_workspace_are_404(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        device = KioskDevice.objects.create(workspace=self.workspace, survey=other, name="Tab")
        self.login_as(self.alice)
        url = self.url("kiosk_deactivate", kioskdevice_id=device.pk)  # wrong survey
        self.assertEqual(self.client.post(url).status_code, 404)
        self.assertRefusedToOutsider(
            self.url("kiosk_deactivate", other, kioskdevice_id=device.pk), "post"
        )
        self.client.force_login(self.charlie)
        theirs = reverse("surveys:kiosk_deactivate", args=["globex", other.pk, device.pk])
        self.assertEqual(self.client.post(theirs).status_code, 404)
        device.refresh_from_db()
        self.assertTrue(device.is_active)

    def test_an_agent_cannot_add_or_deactivate_kiosks(self) -> None:
        device = KioskDevice.objects.create(workspace=self.workspace, survey=self.survey, name="T")
        self.login_as(self.bob)
        self.assertEqual(self.client.post(self.url("kiosk_create"), {"name": "X"}).status_code, 403)
        url = self.url("kiosk_deactivate", kioskdevice_id=device.pk)
        self.assertEqual(self.client.post(url).status_code, 403)


class WorkspaceSettingsTest(SurveyCase):
    url_ = "/w/acme/settings/"

    def valid(self, **changes: object) -> dict[str, object]:
        data: dict[str, object] = {
            "brand_name": "Acme Oy",
            "brand_color": "#112233",
            "logo_url": "https://cdn.example.org/logo.png",
            "time_zone": "Europe/Tallinn",
            "languages": ["fi", "et"],
            "recontact_days": "45",
            "open_tracking": "on",
            "email_rate_per_minute": "120",
        }
        data.update(changes)
        return data

    def test_an_owner_saves_the_settings(self) -> None:
        self.login_as(self.alice)
        self.assertContains(self.client.get(self.url_), self.workspace.secret)
        response = self.client.post(self.url_, self.valid())
        self.assertRedirects(response, self.url_)
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.brand_color, "#112233")
        self.assertEqual(self.workspace.time_zone, "Europe/Tallinn")
        self.assertEqual(self.workspace.languages, ["fi", "et"])
        self.assertEqual(
            (
                self.workspace.recontact_days,
                self.workspace.open_tracking,
                self.workspace.email_rate_per_minute,
            ),
            (45, True, 120),
        )

    def test_bad_values_are_refused_with_the_fields_marked(self) -> None:
        self.login_as(self.alice)
        bad = {
            "brand_color": "red",
            "time_zone": "Mars/Olympus",
            "languages": [],
            "logo_url": "http://insecure.example.org/logo.png",
            "email_rate_per_minute": "0",
        }
        for field, value in bad.items():
            with self.subTest(field=field):
                response = self.client.post(self.url_, self.valid(**{field: value}))
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.time_zone, "Europe/Helsinki")

    def test_agents_get_403_and_charlie_404(self) -> None:
        self.login_as(self.bob)
        self.assertEqual(self.client.get(self.url_).status_code, 403)
        self.assertEqual(self.client.post(self.url_, self.valid()).status_code, 403)
        self.assertRefusedToOutsider(self.url_)
        self.assertRefusedToOutsider(self.url_, "post")
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.brand_name, "")
