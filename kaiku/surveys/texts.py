"""Built-in survey texts for English, Finnish and Estonian.

`{brand}` is replaced by the survey's brand name. Finnish and Estonian are
polished, brand-aware versions of the questions in the seed articles.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    question: str
    follow_up_detractor: str
    follow_up_passive: str
    follow_up_promoter: str
    thank_you: str


_NPS = {
    "en": Texts(
        question="How likely is it that you would recommend {brand} to a friend or colleague?",
        follow_up_detractor="What should we improve?",
        follow_up_passive="What would make it a 10?",
        follow_up_promoter="What do you like most?",
        thank_you="Thank you for your feedback!",
    ),
    "fi": Texts(
        question=(
            "Asteikolla 0–10, kuinka todennäköisesti suosittelisit yritystä {brand} "
            "ystävällesi tai kollegallesi?"
        ),
        follow_up_detractor="Mitä meidän pitäisi parantaa?",
        follow_up_passive="Mikä tekisi siitä kympin?",
        follow_up_promoter="Mistä pidät eniten?",
        thank_you="Kiitos palautteestasi!",
    ),
    "et": Texts(
        question=(
            "Kui tõenäoline on, et soovitate ettevõtet {brand} oma sõbrale või kolleegile, "
            "skaalal 0–10?"
        ),
        follow_up_detractor="Mida peaksime parandama?",
        follow_up_passive="Mis teeks sellest kümne?",
        follow_up_promoter="Mis teile kõige rohkem meeldib?",
        thank_you="Täname tagasiside eest!",
    ),
}

_CSAT = {
    "en": Texts(
        question="How satisfied were you with {brand}?",
        follow_up_detractor="What went wrong?",
        follow_up_passive="What could we have done better?",
        follow_up_promoter="What did you like?",
        thank_you="Thank you for your feedback!",
    ),
    "fi": Texts(
        question="Kuinka tyytyväinen olit yrityksen {brand} palveluun?",
        follow_up_detractor="Mikä meni pieleen?",
        follow_up_passive="Mitä olisimme voineet tehdä paremmin?",
        follow_up_promoter="Mistä pidit?",
        thank_you="Kiitos palautteestasi!",
    ),
    "et": Texts(
        question="Kui rahul te ettevõttega {brand} olite?",
        follow_up_detractor="Mis läks valesti?",
        follow_up_passive="Mida oleksime saanud paremini teha?",
        follow_up_promoter="Mis teile meeldis?",
        thank_you="Täname tagasiside eest!",
    ),
}

_CES = {
    "en": Texts(
        question="{brand} made it easy for me to handle my issue.",
        follow_up_detractor="What made it difficult?",
        follow_up_passive="What would have made it easier?",
        follow_up_promoter="What made it easy?",
        thank_you="Thank you for your feedback!",
    ),
    "fi": Texts(
        question="{brand} teki asiani hoitamisesta helppoa.",
        follow_up_detractor="Mikä teki siitä vaikeaa?",
        follow_up_passive="Mikä olisi tehnyt siitä helpompaa?",
        follow_up_promoter="Mikä teki siitä helppoa?",
        thank_you="Kiitos palautteestasi!",
    ),
    "et": Texts(
        question="{brand} muutis minu mure lahendamise lihtsaks.",
        follow_up_detractor="Mis muutis selle keeruliseks?",
        follow_up_passive="Mis oleks selle lihtsamaks teinud?",
        follow_up_promoter="Mis muutis selle lihtsaks?",
        thank_you="Täname tagasiside eest!",
    ),
}

DEFAULT_TEXTS: dict[str, dict[str, Texts]] = {"nps": _NPS, "csat": _CSAT, "ces": _CES}


def default_texts(kind: str, language: str) -> Texts:
    """Built-in texts for a survey kind, falling back to English."""
    by_language = DEFAULT_TEXTS[kind]
    return by_language.get(language, by_language["en"])
