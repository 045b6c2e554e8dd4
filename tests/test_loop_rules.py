"""Which answers open a case: the rules per survey, and opening exactly once per answer."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kaiku.loop.models import Case, CaseEvent, CaseReason, LoopSettings
from kaiku.loop.rules import Facts, Match, evaluate, matching_keyword
from kaiku.surveys.models import Survey
from kaiku.themes.models import ResponseTheme, Theme
from tests.test_loop_base import LoopTestCase


def match(settings: LoopSettings, found: Facts) -> Match:
    result = evaluate(settings, found)
    assert result is not None
    return result


def facts(score: int, comment: str = "", previous: int | None = None, themes=()) -> Facts:
    group = "low" if score <= 6 else "middle" if score <= 8 else "high"
    return Facts(group, score, comment, previous, frozenset(themes))


class RuleEvaluationTest(LoopTestCase):
    """evaluate() is pure: settings and facts in, a reason out."""

    def test_every_detractor_opens_a_case_by_default(self) -> None:
        defaults = LoopSettings()
        for score in range(7):
            assert match(defaults, facts(score)).reason == CaseReason.DETRACTOR
        for score in (7, 8, 9, 10):
            assert evaluate(defaults, facts(score)) is None

    def test_passives_open_cases_only_when_chosen(self) -> None:
        assert evaluate(LoopSettings(), facts(8)) is None
        with_passives = LoopSettings(open_for_passives=True)
        assert match(with_passives, facts(7)).reason == CaseReason.PASSIVE
        assert evaluate(with_passives, facts(9)) is None

    def test_a_keyword_opens_a_case_whatever_the_score(self) -> None:
        settings = LoopSettings(keywords=["refund", "palautu"])
        found = match(settings, facts(10, "Great, but I still want my REFUNDS back"))
        assert (found.reason, found.detail) == (CaseReason.KEYWORD, "refund")
        assert match(settings, facts(9, "Palautuksen käsittely kesti")).detail == "palautu"
        # At the start of a word only: "prefund" is not "refund".
        assert evaluate(settings, facts(9, "prefunding round")) is None

    def test_keywords_match_at_word_starts_case_insensitively(self) -> None:
        assert matching_keyword(["hinta"], "HINTA oli liian kova") == "hinta"
        assert matching_keyword(["hinta"], "kokonaishinta") is None
        assert matching_keyword(["c++"], "needs C++ support") == "c++"
        assert matching_keyword([" ", ""], "anything") is None

    def test_a_chosen_theme_opens_a_case(self) -> None:
        settings = LoopSettings(theme_ids=[7, 9])
        found = match(settings, facts(9, "slow delivery", themes={9, 12}))
        assert (found.reason, found.detail) == (CaseReason.THEME, "9")
        assert evaluate(settings, facts(9, "slow", themes={12})) is None

    def test_a_score_drop_against_the_previous_answer_opens_a_case(self) -> None:
        settings = LoopSettings(open_for_detractors=False, score_drop=3)
        found = match(settings, facts(7, previous=10))
        assert (found.reason, found.detail) == (CaseReason.SCORE_DROP, "10→7")
        assert evaluate(settings, facts(8, previous=10)) is None  # fell 2 < 3
        assert evaluate(settings, facts(7, previous=None)) is None  # no earlier answer

    def test_detractor_comes_first_and_disabled_opens_nothing(self) -> None:
        settings = LoopSettings(keywords=["refund"], score_drop=1)
        assert match(settings, facts(2, "refund", previous=9)).reason == CaseReason.DETRACTOR
        assert evaluate(LoopSettings(enabled=False), facts(0, "refund")) is None


class OpeningTest(LoopTestCase):
    """Rules run in the process_response job on real answers."""

    def test_a_detractor_answer_opens_one_case_and_a_promoter_none(self) -> None:
        response = self.answer(3, "Slow support", contact=self.ann)
        case = self.case_for(response)
        assert (case.reason, case.score, case.status) == (CaseReason.DETRACTOR, 3, "open")
        assert case.contact == self.ann
        assert case.survey == self.survey
        assert list(case.events.values_list("kind", "to_value")) == [("opened", "detractor")]
        assert not Case.objects.filter(response=self.answer(9, contact=self.ann)).exists()

    def test_running_the_job_twice_opens_one_case(self) -> None:
        response = self.answer(2, "Broken")
        self.run_job_again(response)
        self.run_job_again(response)
        assert Case.objects.filter(response=response).count() == 1
        assert CaseEvent.objects.filter(case__response=response, kind="opened").count() == 1

    def test_passive_and_keyword_rules_apply_to_real_answers(self) -> None:
        self.loop_settings(open_for_passives=True, keywords=["cancel"])
        assert self.case_for(self.answer(8)).reason == CaseReason.PASSIVE
        case = self.case_for(self.answer(10, "Love it but I might cancel"))
        assert (case.reason, case.reason_detail) == (CaseReason.KEYWORD, "cancel")

    def test_a_theme_rule_uses_the_answers_themes(self) -> None:
        theme = Theme.objects.create(workspace=self.workspace, key="delivery", name="Delivery")
        other = Theme.objects.create(workspace=self.workspace, key="price", name="Price")
        self.loop_settings(theme_ids=[theme.pk])
        response = self.answer(9, "It was fine")
        assert not Case.objects.filter(response=response).exists()
        ResponseTheme.objects.create(response=response, theme=other)
        self.run_job_again(response)
        assert not Case.objects.filter(response=response).exists()
        ResponseTheme.objects.create(response=response, theme=theme, source="manual")
        self.run_job_again(response)
        assert self.case_for(response).reason == CaseReason.THEME

    def test_a_merged_theme_still_matches_through_its_successor(self) -> None:
        old = Theme.objects.create(workspace=self.workspace, key="shipping", name="Shipping")
        new = Theme.objects.create(workspace=self.workspace, key="delivery", name="Delivery")
        Theme.objects.filter(pk=old.pk).update(merged_into=new, is_active=False)
        self.loop_settings(theme_ids=[old.pk])
        response = self.answer(10, "Parcel late")
        ResponseTheme.objects.get_or_create(response=response, theme=new)
        self.run_job_again(response)
        assert self.case_for(response).reason == CaseReason.THEME

    def test_a_score_drop_compares_with_the_same_contacts_previous_answer(self) -> None:
        self.loop_settings(open_for_detractors=False, score_drop=3)
        earlier = timezone.now() - timedelta(days=60)
        self.answer(10, contact=self.ann, created_at=earlier)
        dropped = self.answer(7, contact=self.ann)
        case = self.case_for(dropped)
        assert (case.reason, case.reason_detail) == (CaseReason.SCORE_DROP, "10→7")
        # Another survey's answers are not "the previous answer".
        other = Survey.objects.create(workspace=self.workspace, name="Support NPS")
        assert not Case.objects.filter(response=self.answer(7, contact=self.ann, survey=other))

    def test_imports_and_backfilled_history_open_no_cases(self) -> None:
        imported = self.answer(0, "old complaint", channel="import")
        backfilled = self.answer(1, created_at=timezone.now() - timedelta(days=30))
        assert not Case.objects.filter(response__in=[imported, backfilled]).exists()

    def test_a_csat_low_score_counts_as_a_detractor(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        assert self.case_for(self.answer(2, survey=csat)).reason == CaseReason.DETRACTOR
        assert not Case.objects.filter(response=self.answer(3, survey=csat)).exists()
