"""The contacts pages: list with filters, add and edit, roles, isolation."""

from __future__ import annotations

from django.urls import reverse

from kaiku.accounts.models import Membership, Role, User
from kaiku.contacts.models import Contact
from tests.base import PASSWORD, BaseTestCase


class ContactsCase(BaseTestCase):
    ann: Contact
    ben: Contact
    vera: User

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.ann = Contact.objects.create(
            workspace=cls.workspace,
            email="ann@example.org",
            name="Ann",
            language="fi",
            properties={"plan": "pro", "seats": 12},
        )
        cls.ben = Contact.objects.create(
            workspace=cls.workspace,
            email="ben@example.org",
            name="Ben",
            properties={"plan": "free"},
        )
        cls.vera = User.objects.create_user("vera@example.org", PASSWORD, name="Vera")
        Membership.objects.create(workspace=cls.workspace, user=cls.vera, role=Role.VIEWER)

    def url(self, name: str, **kwargs: object) -> str:
        return reverse(f"contacts:{name}", kwargs={"workspace_slug": "acme", **kwargs})


class ContactListTest(ContactsCase):
    def test_it_lists_the_workspaces_contacts(self) -> None:
        Contact.objects.create(workspace=self.charlies_workspace, email="zed@example.org")
        self.login_as(self.bob)
        response = self.client.get(self.url("list"))
        self.assertContains(response, "ann@example.org")
        self.assertContains(response, "ben@example.org")
        self.assertNotContains(response, "zed@example.org")

    def test_filters_live_in_the_url(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("list") + "?prop=plan&op=eq&val=PRO")
        self.assertContains(response, "ann@example.org")
        self.assertNotContains(response, "ben@example.org")
        self.assertContains(response, 'value="plan"')  # the form shows the filter again

    def test_a_bad_filter_is_explained_not_a_crash(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("list") + "?prop=plan&op=like&val=x&language=sv")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "unknown operator", status_code=400)
        self.assertContains(response, "Unknown language sv", status_code=400)
        self.assertContains(response, 'aria-describedby="filter-errors"', status_code=400)

    def test_it_paginates(self) -> None:
        Contact.objects.bulk_create(
            Contact(workspace=self.workspace, email=f"p{i}@example.org") for i in range(60)
        )
        self.login_as(self.alice)
        response = self.client.get(self.url("list") + "?q=example")
        self.assertContains(response, "62 contacts")
        self.assertContains(response, "page=2")
        second = self.client.get(self.url("list") + "?q=example&page=2")
        self.assertEqual(len(second.context["page"].object_list), 12)

    def test_the_list_takes_a_fixed_number_of_queries(self) -> None:
        Contact.objects.bulk_create(
            Contact(workspace=self.workspace, email=f"q{i}@example.org", properties={"a": i})
            for i in range(40)
        )
        self.login_as(self.alice)
        self.client.get(self.url("list"))  # warm up the session
        # session, user, membership, surveys (filter form), count, one page of contacts
        with self.assertNumQueries(6):
            self.client.get(self.url("list"))

    def test_send_and_import_links_are_for_managers(self) -> None:
        self.login_as(self.bob)
        response = self.client.get(self.url("list"))
        self.assertNotContains(response, self.url("import"))
        self.assertNotContains(response, reverse("surveys:send_choose", args=["acme"]))
        self.login_as(self.alice)
        response = self.client.get(self.url("list"))
        self.assertContains(response, self.url("import"))
        self.assertContains(response, reverse("surveys:send_choose", args=["acme"]))


class ContactEditTest(ContactsCase):
    def test_an_agent_adds_a_contact_with_any_properties(self) -> None:
        self.login_as(self.bob)
        response = self.client.post(
            self.url("new"),
            {
                "name": "Cid",
                "email": "CID@Example.org",
                "language": "et",
                "prop_name": ["Customer tier", "seats", "trial", ""],
                "prop_value": ["Gold ★", "7", "false", ""],
            },
        )
        contact = Contact.objects.get(workspace=self.workspace, email="cid@example.org")
        self.assertRedirects(response, self.url("detail", contact_id=contact.pk))
        self.assertEqual(contact.language, "et")
        self.assertEqual(
            contact.properties, {"Customer tier": "Gold ★", "seats": 7, "trial": False}
        )

    def test_editing_replaces_fields_and_removes_emptied_properties(self) -> None:
        self.login_as(self.bob)
        response = self.client.post(
            self.url("detail", contact_id=self.ann.pk),
            {
                "name": "Ann Smith",
                "email": "ann@example.org",
                "prop_name": ["plan", "seats"],
                "prop_value": ["team", ""],
            },
        )
        self.assertEqual(response.status_code, 302)
        self.ann.refresh_from_db()
        self.assertEqual(self.ann.name, "Ann Smith")
        self.assertEqual(self.ann.properties, {"plan": "team"})
        self.assertEqual(self.ann.language, "")

    def test_a_duplicate_email_is_refused_with_the_field_marked(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.url("new"), {"email": "ben@example.org"})
        self.assertContains(response, "Another contact has this email address.", status_code=400)
        self.assertContains(response, 'aria-invalid="true"', status_code=400)
        self.assertContains(response, 'aria-describedby="id_email_error"', status_code=400)

    def test_a_contact_needs_an_email_or_external_id(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(self.url("new"), {"name": "Nobody"})
        self.assertContains(
            response, "An email address or an external id is required.", status_code=400
        )
        self.assertFalse(Contact.objects.filter(name="Nobody").exists())

    def test_bad_properties_are_refused(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.url("new"),
            {"email": "x@example.org", "prop_name": ["plan", "plan"], "prop_value": ["a", "b"]},
        )
        self.assertContains(response, "plan is listed twice.", status_code=400)

    def test_user_text_is_escaped(self) -> None:
        Contact.objects.create(
            workspace=self.workspace,
            email="x@example.org",
            name="<script>alert(1)</script>",
            properties={"<b>k</b>": "<i>v</i>"},
        )
        self.login_as(self.alice)
        response = self.client.get(self.url("list"))
        self.assertNotContains(response, "<script>alert(1)</script>")
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertNotContains(response, "<b>k</b>")


class ContactRolesTest(ContactsCase):
    def test_a_viewer_reads_but_cannot_change(self) -> None:
        self.login_as(self.vera)
        self.assertEqual(self.client.get(self.url("list")).status_code, 200)
        page = self.client.get(self.url("detail", contact_id=self.ann.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, '<form method="post" class="card contact-form"')
        self.assertEqual(self.client.get(self.url("new")).status_code, 403)
        response = self.client.post(
            self.url("detail", contact_id=self.ann.pk), {"email": "ann@example.org", "name": "X"}
        )
        self.assertEqual(response.status_code, 403)
        self.ann.refresh_from_db()
        self.assertEqual(self.ann.name, "Ann")

    def test_only_managers_import(self) -> None:
        self.login_as(self.bob)
        self.assertEqual(self.client.get(self.url("import")).status_code, 403)
        self.assertEqual(self.client.post(self.url("import_map")).status_code, 403)

    def test_charlie_gets_404_for_acme_contacts(self) -> None:
        for url in (
            self.url("detail", contact_id=self.ann.pk),
            self.url("list"),
            self.url("new"),
            self.url("import"),
        ):
            self.assertRefusedToOutsider(url)
            self.assertRefusedToOutsider(url, "post")
        # Under his own workspace, Acme's contact id is still nobody he knows.
        self.client.force_login(self.charlie)
        url = reverse("contacts:detail", args=["globex", self.ann.pk])
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(self.client.post(url, {"email": "pwn@example.org"}).status_code, 404)
        self.ann.refresh_from_db()
        self.assertEqual(self.ann.email, "ann@example.org")
