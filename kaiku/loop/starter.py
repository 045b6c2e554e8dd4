"""Built-in content: starter resolution categories, reply templates and promoter emails.

Reply templates and promoter emails go to customers in the contact's language,
so their wording lives here per language (like kaiku.surveys.texts) instead of
in the team's translation catalogue. Placeholders: {name}, {brand}, {agent},
{score}, {survey} and, in promoter emails, {link}.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Starter categories: key → label (translated while the team has not renamed it).
CATEGORY_LABELS: dict[str, str | Promise] = {
    "product": _("Product issue"),
    "service": _("Service or support"),
    "price": _("Price or billing"),
    "delivery": _("Delivery or logistics"),
    "expectations": _("Expectations or misunderstanding"),
    "no_action": _("No action possible"),
    "other": _("Other"),
}


@dataclass(frozen=True)
class Template:
    subject: str
    body: str


REPLY_TEMPLATE_LABELS: dict[str, str | Promise] = {
    "apology": _("Apology and question"),
    "follow_up": _("We are on it"),
    "resolved": _("Resolved: let us know"),
}

REPLY_TEMPLATES: dict[str, dict[str, Template]] = {
    "apology": {
        "en": Template(
            "About your feedback to {brand}",
            "Hello {name},\n\nthank you for telling us how we did: you gave us {score}. I am "
            "sorry that we fell short. Could you tell me a little more about what happened, so "
            "that I can put it right?\n\nBest regards,\n{agent}\n{brand}",
        ),
        "fi": Template(
            "Palautteestasi yritykselle {brand}",
            "Hei {name},\n\nkiitos, että kerroit kokemuksestasi: annoit meille arvosanan {score}. "
            "Olen pahoillani, ettemme onnistuneet. Kertoisitko vähän tarkemmin, mitä tapahtui, "
            "jotta voin korjata asian?\n\nYstävällisin terveisin\n{agent}\n{brand}",
        ),
        "et": Template(
            "Teie tagasiside ettevõttele {brand}",
            "Tere, {name}!\n\nAitäh, et andsite meile tagasisidet: teie hinne oli {score}. Mul on "
            "kahju, et me ei olnud ootuste kõrgusel. Kas saaksite veidi täpsemalt kirjeldada, "
            "mis juhtus, et saaksin olukorra parandada?\n\nParimate soovidega\n{agent}\n{brand}",
        ),
    },
    "follow_up": {
        "en": Template(
            "We are working on it",
            "Hello {name},\n\nthank you for your feedback. I have taken your case and will get "
            "back to you as soon as I know more.\n\nBest regards,\n{agent}\n{brand}",
        ),
        "fi": Template(
            "Asiasi on työn alla",
            "Hei {name},\n\nkiitos palautteestasi. Otin asiasi hoitaakseni ja palaan asiaan heti, "
            "kun tiedän enemmän.\n\nYstävällisin terveisin\n{agent}\n{brand}",
        ),
        "et": Template(
            "Tegeleme teie murega",
            "Tere, {name}!\n\nAitäh tagasiside eest. Võtsin teie küsimuse enda peale ja annan "
            "teada kohe, kui tean rohkem.\n\nParimate soovidega\n{agent}\n{brand}",
        ),
    },
    "resolved": {
        "en": Template(
            "Your feedback made a difference",
            "Hello {name},\n\nthank you again for your feedback. We have now dealt with the "
            "issue you raised. If anything is still not right, just reply to this email."
            "\n\nBest regards,\n{agent}\n{brand}",
        ),
        "fi": Template(
            "Palautteesi vaikutti",
            "Hei {name},\n\nkiitos vielä palautteestasi. Olemme nyt hoitaneet esiin nostamasi "
            "asian. Jos jokin on yhä pielessä, vastaa tähän viestiin.\n\nYstävällisin terveisin"
            "\n{agent}\n{brand}",
        ),
        "et": Template(
            "Teie tagasisidel oli mõju",
            "Tere, {name}!\n\nAitäh veel kord tagasiside eest. Oleme tõstatatud probleemi nüüd "
            "lahendanud. Kui midagi on endiselt valesti, vastake lihtsalt sellele kirjale."
            "\n\nParimate soovidega\n{agent}\n{brand}",
        ),
    },
}

PROMOTER_TEMPLATES: dict[str, dict[str, Template]] = {
    "review": {
        "en": Template(
            "Would you share your experience with {brand}?",
            "Hello {name},\n\nthank you for your {score}! It means a lot to us. Would you take "
            "a minute to write a short review? It helps others find us.\n\n{link}\n\n{brand}",
        ),
        "fi": Template(
            "Kertoisitko kokemuksestasi yrityksestä {brand}?",
            "Hei {name},\n\nkiitos arvosanastasi {score}! Se merkitsee meille paljon. Ehtisitkö "
            "kirjoittaa lyhyen arvion? Se auttaa muita löytämään meidät.\n\n{link}\n\n{brand}",
        ),
        "et": Template(
            "Kas jagaksite oma kogemust ettevõttega {brand}?",
            "Tere, {name}!\n\nAitäh hinde {score} eest! See on meile väga oluline. Kas leiaksite "
            "minuti, et kirjutada lühike arvustus? See aitab teistel meid leida.\n\n{link}"
            "\n\n{brand}",
        ),
    },
    "referral": {
        "en": Template(
            "Share {brand} with a friend",
            "Hello {name},\n\nthank you for your {score}! If you know someone who would like "
            "{brand} too, here is a link you can share with them:\n\n{link}\n\n{brand}",
        ),
        "fi": Template(
            "Suosittele yritystä {brand} ystävällesi",
            "Hei {name},\n\nkiitos arvosanastasi {score}! Jos tunnet jonkun, joka pitäisi myös "
            "yrityksestä {brand}, voit jakaa hänelle tämän linkin:\n\n{link}\n\n{brand}",
        ),
        "et": Template(
            "Soovitage ettevõtet {brand} sõbrale",
            "Tere, {name}!\n\nAitäh hinde {score} eest! Kui teate kedagi, kellele {brand} samuti "
            "meeldiks, saate talle saata selle lingi:\n\n{link}\n\n{brand}",
        ),
    },
}

# Greeting names when the contact has none, per language.
ANONYMOUS_NAME = {"en": "there", "fi": "", "et": ""}
PLACEHOLDERS = ("name", "brand", "agent", "score", "survey", "link")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace `{name}`-style placeholders; unknown braces stay as typed.

    Plain replacement, not str.format: an agent's message may contain braces,
    and format() would raise on them or reach into attributes.
    """
    for key in PLACEHOLDERS:
        if key in values:
            text = text.replace("{" + key + "}", values[key])
    # "Hei ," when a Finnish contact has no name: tidy the greeting.
    return text.replace(" ,", ",").replace("Tere, !", "Tere!")


def reply_template(key: str, language: str) -> Template | None:
    templates = REPLY_TEMPLATES.get(key)
    if templates is None:
        return None
    return templates.get(language) or templates["en"]


def promoter_template(action: str, language: str) -> Template:
    templates = PROMOTER_TEMPLATES[action]
    return templates.get(language) or templates["en"]
