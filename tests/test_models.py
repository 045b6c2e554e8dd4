"""The core data model's own guarantees: scales, uniqueness, texts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey, SurveyText
from tests.base import BaseTestCase


class ResponseScaleTest(BaseTestCase):
    def test_it_copies_the_survey_scale(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        response = Response.objects.create(
            workspace=self.workspace, survey=csat, score=5, channel="email"
        )
        self.assertEqual((response.scale_min, response.scale_max), (1, 5))

    def test_the_model_layer_rejects_a_score_outside_the_scale(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        for score in (0, 6, 11):
            with self.assertRaises(ValidationError):
                Response.objects.create(
                    workspace=self.workspace, survey=csat, score=score, channel="api"
                )
        self.assertFalse(Response.objects.exists())

    def test_the_database_rejects_a_score_outside_the_scale(self) -> None:
        row = Response(
            workspace=self.workspace,
            survey=self.survey,
            score=11,
            channel="api",
            scale_min=0,
            scale_max=10,
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            Response.objects.bulk_create([row])  # bulk_create skips save(): the CHECK must hold

    def test_the_database_rejects_an_update_outside_the_scale(self) -> None:
        response = Response.objects.create(
            workspace=self.workspace, survey=self.survey, score=9, channel="api"
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            Response.objects.filter(pk=response.pk).update(score=12)

    def test_a_scale_cannot_be_widened_past_ten(self) -> None:
        with self.assertRaises(IntegrityError), transaction.atomic():
            Survey.objects.create(
                workspace=self.workspace, name="Odd", kind="csat", scale_min=1, scale_max=11
            )

    def test_clean_refuses_a_scale_the_kind_does_not_use(self) -> None:
        survey = Survey(workspace=self.workspace, name="Odd", kind="nps", scale_min=1, scale_max=5)
        with self.assertRaises(ValidationError):
            survey.full_clean()


class ContactUniquenessTest(BaseTestCase):
    def test_email_is_unique_per_workspace_ignoring_case(self) -> None:
        Contact.objects.create(workspace=self.workspace, email="Ann@Example.org")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Contact.objects.create(workspace=self.workspace, email="ann@example.org")

    def test_the_same_email_may_exist_in_another_workspace(self) -> None:
        Contact.objects.create(workspace=self.workspace, email="ann@example.org")
        Contact.objects.create(workspace=self.charlies_workspace, email="ann@example.org")
        self.assertEqual(Contact.objects.filter(email="ann@example.org").count(), 2)

    def test_external_id_is_unique_per_workspace(self) -> None:
        Contact.objects.create(workspace=self.workspace, external_id="crm-1")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Contact.objects.create(workspace=self.workspace, external_id="crm-1")

    def test_contacts_without_email_or_external_id_do_not_collide(self) -> None:
        Contact.objects.create(workspace=self.workspace, phone="+358401")
        Contact.objects.create(workspace=self.workspace, email="", external_id="")
        self.assertEqual(Contact.objects.filter(workspace=self.workspace).count(), 2)

    def test_properties_are_validated(self) -> None:
        contact = Contact(workspace=self.workspace, properties={"plan": {"nested": 1}})
        with self.assertRaises(ValidationError):
            contact.full_clean()
        contact.properties = {"x" * 65: "too long a name"}
        with self.assertRaises(ValidationError):
            contact.full_clean()
        contact.properties = {"plan": "pro", "seats": 12, "vip": True, "churned_at": None}
        contact.full_clean()


class SurveyTextTest(BaseTestCase):
    def test_built_in_texts_exist_in_three_languages_with_the_brand(self) -> None:
        self.workspace.brand_name = "Acme Oy"
        self.workspace.save()
        survey = Survey.objects.get(pk=self.survey.pk)
        for language, fragment in (
            ("en", "recommend"),
            ("fi", "suosittelisit"),
            ("et", "soovitate"),
        ):
            question = survey.texts(language).question
            self.assertIn(fragment, question)
            self.assertIn("Acme Oy", question)

    def test_a_survey_text_overrides_only_the_fields_it_sets(self) -> None:
        SurveyText.objects.create(survey=self.survey, language="fi", follow_up_detractor="Miksi?")
        texts = self.survey.texts("fi")
        self.assertEqual(texts.follow_up_detractor, "Miksi?")
        self.assertEqual(texts.follow_up_promoter, "Mistä pidät eniten?")

    def test_an_unknown_language_falls_back_to_english(self) -> None:
        self.assertIn("recommend", self.survey.texts("sv").question)

    def test_kinds_get_their_default_scales(self) -> None:
        ces = Survey.objects.create(workspace=self.workspace, name="CES", kind="ces")
        self.assertEqual(list(ces.scale), list(range(1, 8)))
        self.assertEqual(list(self.survey.scale), list(range(0, 11)))
