"""/delighted/v1/: authentication, errors, unsubscribes, bounces, Autopilot, the settings page."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from kaiku.accounts.models import Membership, Role
from kaiku.api.actions import revoke_api_key
from kaiku.contacts.models import Contact
from kaiku.delighted.actions import run_autopilot
from kaiku.delighted.models import AutopilotMembership, DelightedSettings
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.delighted_base import BASE, DelightedTestCase, basic


class AuthenticationTests(DelightedTestCase):
    def test_a_missing_key_is_401_in_delighteds_shape(self) -> None:
        response = self.client.get(BASE + "metrics.json")
        body = self.assertDelightedError(response, 401)
        self.assertEqual(set(body), {"status", "message"})
        self.assertTrue(response["WWW-Authenticate"].startswith("Basic "))

    def test_a_wrong_or_revoked_key_is_401(self) -> None:
        for header in (
            basic("kaiku_nope_nope"),
            "Basic !!!",
            f"Bearer {self.read_token}",
        ):
            response = self.client.get(BASE + "metrics", headers={"authorization": header})
            self.assertDelightedError(response, 401)
        revoke_api_key(self.read_key)
        self.assertDelightedError(self.d_get("metrics", token=self.read_token), 401)

    def test_both_clients_basic_styles_are_accepted(self) -> None:
        for colon in (True, False):
            response = self.client.get(
                BASE + "metrics", headers={"authorization": basic(self.read_token, colon=colon)}
            )
            self.assertEqual(response.status_code, 200, response.content)

    def test_a_read_only_key_reads_but_cannot_write(self) -> None:
        self.assertEqual(self.d_get("people", token=self.read_token).status_code, 200)
        response = self.d_post("people", {"email": "a@example.org"}, token=self.read_token)
        self.assertDelightedError(response, 403)
        self.assertFalse(Contact.objects.exists())

    def test_no_cookies_and_no_csrf_are_involved(self) -> None:
        self.client = self.client_class(enforce_csrf_checks=True)
        response = self.d_post("people", {"email": "a@example.org", "send": False})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertFalse(response.cookies)

    @override_settings(API_RATE_LIMIT_PER_MINUTE=2)
    def test_over_the_rate_limit_is_429_with_retry_after(self) -> None:
        self.d_get("metrics")
        self.d_get("metrics")
        response = self.d_get("metrics")
        self.assertDelightedError(response, 429)
        self.assertGreaterEqual(int(response["Retry-After"]), 1)


class RoutingTests(DelightedTestCase):
    def test_unknown_routes_and_methods_answer_json(self) -> None:
        self.assertDelightedError(self.d_get("nothing-here"), 404)
        response = self.d_send("delete", "metrics.json")
        self.assertDelightedError(response, 405)
        self.assertEqual(response["Allow"], "GET")

    def test_suffixes_and_trailing_slashes_are_all_accepted(self) -> None:
        for path in ("metrics", "metrics.json", "metrics/", "metrics.json/"):
            self.assertEqual(self.d_get(path).status_code, 200, path)

    def test_a_body_that_is_not_json_is_422(self) -> None:
        response = self.client.post(
            BASE + "people",
            "{not json",
            content_type="application/json",
            headers={"authorization": basic(self.write_token)},
        )
        self.assertDelightedError(response, 422, "body")


class UnsubscribeTests(DelightedTestCase):
    def test_it_unsubscribes_a_known_person_and_cancels_pending_surveys(self) -> None:
        contact = self.make_contact("ann@example.org")
        invitation = Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=contact
        )
        response = self.d_post("unsubscribes.json", {"person_email": "Ann@example.org"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), {"ok": True})
        contact.refresh_from_db()
        invitation.refresh_from_db()
        self.assertIsNotNone(contact.unsubscribed_at)
        self.assertNotEqual(invitation.status, InvitationStatus.SCHEDULED)

    def test_an_unknown_address_is_remembered_as_unsubscribed(self) -> None:
        response = self.d_post("unsubscribes", {"person_email": "new@example.org"}, form=True)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNotNone(Contact.objects.get(email="new@example.org").unsubscribed_at)

    def test_it_needs_an_email(self) -> None:
        self.assertDelightedError(self.d_post("unsubscribes", {}), 422, "person_email")

    def test_the_list_pages_and_filters_by_time(self) -> None:
        now = timezone.now().replace(microsecond=0)
        ann = self.make_contact(
            "ann@example.org", name="Ann", unsubscribed_at=now - timedelta(days=2)
        )
        bob = self.make_contact("bob@example.org", unsubscribed_at=now - timedelta(days=1))
        self.make_contact("cat@example.org")
        response = self.d_get("unsubscribes")
        self.assertEqual(
            response.json(),
            [
                {
                    "person_id": str(ann.pk),
                    "email": "ann@example.org",
                    "name": "Ann",
                    "unsubscribed_at": int(ann.unsubscribed_at.timestamp()),  # type: ignore[union-attr]
                },
                {
                    "person_id": str(bob.pk),
                    "email": "bob@example.org",
                    "name": None,
                    "unsubscribed_at": int(bob.unsubscribed_at.timestamp()),  # type: ignore[union-attr]
                },
            ],
        )
        self.assertEqual(len(self.d_get("unsubscribes", {"per_page": 1, "page": 2}).json()), 1)
        since = int((now - timedelta(days=1)).timestamp())
        self.assertEqual(len(self.d_get("unsubscribes", {"since": since}).json()), 1)
        self.assertEqual(self.d_get("unsubscribes", token=self.charlies_token).json(), [])


class BounceTests(DelightedTestCase):
    def test_the_list_shows_bounced_people(self) -> None:
        bounced = self.make_contact("ann@example.org", bounced_at=timezone.now())
        self.make_contact("bob@example.org")
        [item] = self.d_get("bounces.json").json()
        self.assertEqual(item["person_id"], str(bounced.pk))
        self.assertEqual(item["bounced_at"], int(bounced.bounced_at.timestamp()))  # type: ignore[union-attr]
        self.assertEqual(self.d_get("bounces", token=self.charlies_token).json(), [])
        self.assertDelightedError(self.d_post("bounces", {}), 405)


class AutopilotTests(DelightedTestCase):
    def test_configuration_defaults_to_off(self) -> None:
        body = self.d_get("autopilot/email.json").json()
        self.assertEqual(body["platform_id"], "email")
        self.assertFalse(body["active"])
        self.assertEqual(body["frequency"], 90 * 86400)
        self.assertDelightedError(self.d_get("autopilot/sms"), 404)

    def test_members_are_added_listed_and_removed(self) -> None:
        DelightedSettings.objects.create(
            workspace=self.workspace, autopilot_active=True, autopilot_frequency_days=30
        )
        response = self.d_post(
            "autopilot/email/memberships.json",
            {
                "person_email": "ann@example.org",
                "person_name": "Ann",
                "properties": {"plan": "pro"},
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["person"]["email"], "ann@example.org")
        self.assertEqual(body["person"]["name"], "Ann")
        self.assertEqual(body["properties"], {"plan": "pro"})
        contact = Contact.objects.get(email="ann@example.org")
        invitation = Invitation.objects.get(contact=contact)
        self.assertEqual(invitation.status, InvitationStatus.SCHEDULED)

        for i in range(2):
            self.d_post("autopilot/email/memberships", {"person_email": f"p{i}@example.org"})
        page = self.d_get("autopilot/email/memberships", {"per_page": 2})
        self.assertEqual(len(page.json()), 2)
        self.assertIn('rel="next"', page["Link"])
        first = page.json()[0]
        self.assertEqual(first["next_survey_request"]["id"], str(invitation.pk))
        filtered = self.d_get("autopilot/email/memberships", {"person_email": "ann@example.org"})
        self.assertEqual(len(filtered.json()), 1)

        removed = self.d_send(
            "delete", "autopilot/email/memberships", {"person_email": "ann@example.org"}
        )
        self.assertEqual(removed.status_code, 200, removed.content)
        self.assertEqual(removed.json()["person"]["id"], str(contact.pk))
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, InvitationStatus.CANCELLED)
        self.assertFalse(AutopilotMembership.objects.filter(contact=contact).exists())
        again = self.d_send(
            "delete", "autopilot/email/memberships", {"person_email": "ann@example.org"}
        )
        self.assertDelightedError(again, 404)

    def test_the_sweep_asks_again_each_period_and_only_once(self) -> None:
        configured = DelightedSettings.objects.create(
            workspace=self.workspace, autopilot_active=True, autopilot_frequency_days=30
        )
        self.d_post("autopilot/email/memberships", {"person_email": "ann@example.org"})
        self.assertEqual(run_autopilot(configured), 0)  # this period's survey exists
        later = timezone.now() + timedelta(days=31)
        # The first invitation was sent meanwhile; throttling allows a new one after 30 days.
        Invitation.objects.update(
            status=InvitationStatus.SENT, sent_at=timezone.now() - timedelta(days=40)
        )
        import time_machine

        with time_machine.travel(later):
            self.assertEqual(run_autopilot(configured), 1)
            self.assertEqual(run_autopilot(configured), 0)
        self.assertEqual(Invitation.objects.count(), 2)

    def test_charlie_cannot_see_or_remove_acme_members(self) -> None:
        self.d_post("autopilot/email/memberships", {"person_email": "ann@example.org"})
        listing = self.d_get("autopilot/email/memberships", token=self.charlies_token)
        self.assertEqual(listing.json(), [])
        response = self.d_send(
            "delete",
            "autopilot/email/memberships",
            {"person_email": "ann@example.org"},
            token=self.charlies_token,
        )
        self.assertDelightedError(response, 404)
        self.assertEqual(AutopilotMembership.objects.count(), 1)


class SettingsPageTests(DelightedTestCase):
    url = "/w/acme/delighted/"

    def test_an_owner_picks_the_target_survey(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Support NPS")
        self.login_as(self.alice)
        page = self.client.get(self.url)
        self.assertContains(page, "Relationship NPS")
        self.assertContains(page, "/delighted/v1/")
        response = self.client.post(
            self.url,
            {"target_survey": other.pk, "autopilot_frequency_days": 60, "autopilot_active": "on"},
        )
        self.assertRedirects(response, self.url)
        configured = DelightedSettings.objects.get(workspace=self.workspace)
        self.assertEqual(configured.target_survey, other)
        self.assertTrue(configured.autopilot_active)

    def test_another_workspaces_survey_cannot_be_chosen(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        self.login_as(self.alice)
        response = self.client.post(
            self.url, {"target_survey": globex.pk, "autopilot_frequency_days": 60}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(DelightedSettings.objects.exists())

    def test_agents_get_403_and_outsiders_404(self) -> None:
        self.login_as(self.bob)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        self.client.logout()
        self.assertRefusedToOutsider(self.url)
        self.assertRefusedToOutsider(self.url, method="post")

    def test_an_admin_may_use_it(self) -> None:
        Membership.objects.filter(user=self.bob).update(role=Role.ADMIN)
        self.login_as(self.bob)
        self.assertEqual(self.client.get(self.url).status_code, 200)
