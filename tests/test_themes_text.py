"""kaiku.themes.text without a database: normalising, log-odds, topics, matching, impact, F1."""

from __future__ import annotations

import math

import pytest

from kaiku.metrics import NpsCounts, nps
from kaiku.themes.text.assign import KeywordError, Matcher
from kaiku.themes.text.evaluate import EVAL_LANGUAGES, evaluate_starter, load_examples
from kaiku.themes.text.impact import (
    impact,
    impact_bootstrap_ci,
    nps_without,
    points_at_stake,
    theme_impacts,
)
from kaiku.themes.text.logodds import weighted_log_odds
from kaiku.themes.text.normalise import normaliser
from kaiku.themes.text.topics import nmf_topics

# --- normalisation ---------------------------------------------------------------------


def keys(language: str, text: str) -> list[str]:
    return [t.key for t in normaliser(language).tokens(text) if t.is_content]


def test_finnish_inflections_share_one_lemma() -> None:
    assert keys("fi", "hinnat hintaa hinta") == ["hinta", "hinta", "hinta"]
    assert set(keys("fi", "toimitus toimituksen toimituksessa toimitukset")) == {"toimitus"}


def test_estonian_comitative_is_lemmatised() -> None:
    assert keys("et", "klienditeenindusega") == ["klienditeenindus"]
    assert set(keys("et", "tarne tarnega tarned")) == {"tarne"}


def test_stopwords_are_dropped_and_the_estonian_list_is_a_real_one() -> None:
    assert keys("en", "the delivery was late") == ["delivery", "late"]
    assert len(normaliser("et").stopwords) >= 300
    assert keys("et", "see on minu arve") == ["arve"]


@pytest.mark.parametrize(
    ("language", "text", "negated"),
    [
        ("en", "not easy to use", "NOT_easy"),
        ("en", "support didn't answer", "NOT_answer"),
        ("fi", "haku ei toiminut", "NOT_toimia"),
        ("fi", "eikä kukaan vastannut", "NOT_vastata"),
        ("et", "rakendus pole lihtne", "NOT_lihtne"),
        ("et", "see ei töötanud", "NOT_töötama"),
        ("et", "mitte kiire", "NOT_kiire"),
    ],
)
def test_negation_marks_the_words_it_governs(language: str, text: str, negated: str) -> None:
    assert negated in normaliser(language).terms(text)


def test_negation_stops_at_the_end_of_the_clause() -> None:
    terms = normaliser("en").terms("Not slow, but the price is high")
    assert "NOT_slow" in terms
    assert "price" in terms
    assert "NOT_price" not in terms


def test_terms_include_bigrams_within_a_clause() -> None:
    assert "customer service" in normaliser("en").terms("Customer service was great")


# --- log-odds ---------------------------------------------------------------------------


def test_log_odds_matches_the_hand_computed_formula() -> None:
    # a: x3 y1 (n=4); b: x1 y3 (n=4); uniform prior α_w = 1 each (α0 = 2).
    scores = {
        s.term: s
        for s in weighted_log_odds(
            {"x": 3, "y": 1}, {"x": 1, "y": 3}, {"x": 1, "y": 1}, prior_size=2.0
        )
    }
    # The background gets 0.01 per term before scaling; at this size it is negligible.
    x = scores["x"]
    expected = math.log(4 / 2) - math.log(2 / 4)  # (3+1)/(4+2-3-1) vs (1+1)/(4+2-1-1)
    assert x.delta == pytest.approx(expected, rel=1e-3)
    assert x.z == pytest.approx(expected / math.sqrt(1 / 4 + 1 / 2), rel=1e-3)
    assert scores["y"].delta == pytest.approx(-expected, rel=1e-3)
    assert next(iter(scores)) == "x"  # highest z first


def test_log_odds_shrinks_rare_terms() -> None:
    frequent = weighted_log_odds({"late": 50, "ok": 50}, {"late": 5, "ok": 95})
    rare = weighted_log_odds({"typo": 1, "ok": 50}, {"ok": 50})
    assert max(s.z for s in frequent) > max(s.z for s in rare)


# --- NMF topics -------------------------------------------------------------------------


def topic_docs() -> list[list[str]]:
    delivery = [
        ["delivery", "late", "parcel"],
        ["parcel", "courier", "late"],
        ["delivery", "courier"],
    ]
    price = [["price", "expensive"], ["expensive", "cost"], ["price", "cost", "discount"]]
    return (delivery + price) * 10


def test_nmf_is_deterministic_and_separates_topics() -> None:
    first = nmf_topics(topic_docs(), k=2, random_state=0)
    second = nmf_topics(topic_docs(), k=2, random_state=0)
    assert [t.terms for t in first] == [t.terms for t in second]
    assert [t.examples for t in first] == [t.examples for t in second]
    tops = {frozenset(t.terms[:2]) for t in first}
    assert any(top <= {"delivery", "late", "parcel", "courier"} for top in tops)
    assert any(top <= {"price", "expensive", "cost", "discount"} for top in tops)


def test_nmf_with_too_few_comments_suggests_nothing() -> None:
    assert nmf_topics([["a", "b"]] * 3, k=5) == []


# --- matcher ----------------------------------------------------------------------------

KEYWORDS = [
    ("delivery", "en", "delivery"),
    ("delivery", "en", "on time"),
    ("support", "en", "customer service"),
    ("performance", "en", "slow + app"),
    ("delivery", "fi", "toimitu*"),
    ("support", "et", "*teenindus"),
]


def test_assignment_is_multi_label_and_ignores_negation() -> None:
    matcher = Matcher(KEYWORDS, fallback="other")
    assert matcher.assign("Delivery was not on time and customer service ignored me", "en") == {
        "delivery",
        "support",
    }
    assert matcher.assign("The delivery was not slow", "en") == {"delivery"}


def test_wildcards_and_clause_rules() -> None:
    matcher = Matcher(KEYWORDS)
    assert matcher.assign("toimituksesa kesti", "fi") == {"delivery"}  # typo, prefix
    assert matcher.assign("Klienditeenindusega oli raske", "et") == {"support"}
    assert matcher.assign("The app is really slow", "en") == {"performance"}
    assert matcher.assign("The app is fine. Slow delivery", "en") == {"delivery"}


def test_fallback_needs_a_comment_that_says_something() -> None:
    matcher = Matcher(KEYWORDS, fallback="other")
    assert matcher.assign("Thanks!", "en") == set()
    assert matcher.assign("Your mascot needs a better hat honestly", "en") == {"other"}


def test_bad_keywords_are_refused_or_skipped() -> None:
    with pytest.raises(KeywordError):
        Matcher([("x", "en", "a*")])
    matcher = Matcher([("x", "en", "a*"), ("y", "en", "price")], strict=False)
    assert matcher.skipped == [("x", "en", "a*")]
    assert matcher.assign("price", "en") == {"y"}


# --- impact -----------------------------------------------------------------------------


def test_impact_formula_equals_nps_all_minus_nps_without() -> None:
    theme, total = NpsCounts(5, 10, 30), NpsCounts(400, 300, 300)
    k, n = theme.n, total.n
    by_hand = k * (nps(theme) - nps(total)) / (n - k)
    assert impact(theme, total) == pytest.approx(by_hand)
    assert impact(theme, total) == pytest.approx(nps(total) - (nps_without(theme, total) or 0))
    assert impact(theme, total) == pytest.approx(-3.0890052)


def test_points_at_stake_is_detractors_over_all_answers() -> None:
    assert points_at_stake(NpsCounts(5, 10, 30), NpsCounts(400, 300, 300)) == pytest.approx(3.0)


def test_bootstrap_ci_contains_the_estimate_and_is_deterministic() -> None:
    theme, total = NpsCounts(20, 15, 40), NpsCounts(300, 250, 200)
    ci = impact_bootstrap_ci(theme, total, seed=7)
    assert ci is not None
    assert ci[0] < (impact(theme, total) or 0) < ci[1]
    assert impact_bootstrap_ci(theme, total, seed=7) == ci
    assert impact_bootstrap_ci(theme, total, seed=8) != ci


def test_bh_is_applied_across_themes_and_rows_sort_by_impact() -> None:
    total = NpsCounts(300, 200, 200)
    rows = theme_impacts(
        {"a": NpsCounts(2, 5, 60), "b": NpsCounts(80, 10, 2), "c": NpsCounts(10, 8, 6)}, total
    )
    assert [r.theme for r in rows] == ["a", "c", "b"]
    for row in rows:
        assert row.q_value is not None
        assert row.p_value is not None
        assert row.q_value >= row.p_value
    assert rows[0].significant
    assert not rows[1].significant


def test_a_theme_without_mentions_has_empty_figures() -> None:
    (row,) = theme_impacts({"x": NpsCounts(0, 0, 0)}, NpsCounts(3, 2, 1))
    assert (row.impact, row.impact_ci95, row.q_value, row.points_at_stake) == (None,) * 4


# --- quality on the held-out evaluation split ----------------------------------------------


def test_the_evaluation_set_is_big_enough_and_split() -> None:
    for language in EVAL_LANGUAGES:
        examples = load_examples(language)
        assert len(examples) >= 300
        assert {e.split for e in examples} == {"dev", "test"}
        assert 0.1 <= sum(1 for e in examples if not e.themes) / len(examples) <= 0.2


@pytest.mark.parametrize("language", EVAL_LANGUAGES)
def test_macro_f1_on_the_held_out_split_is_at_least_0_8(language: str) -> None:
    report = evaluate_starter(language, "test")
    assert report.macro_f1 >= 0.8, [(s.theme, round(s.f1, 2)) for s in report.scores]
