"""Finnish and Estonian stay complete.

- every msgid of kaiku/locale/{fi,et}/LC_MESSAGES/django.po has a translation (all plural
  forms), nothing is fuzzy and the placeholders of the translation are those of the msgid;
- the committed .mo files say what the .po files say;
- the .po files hold exactly the msgids the source has now (makemessages runs on a copy of
  the package, so the real tree is never written to);
- a few key pages render in Finnish and Estonian.

When one of these fails after changing texts: run `make messages`, translate the new entries
in both .po files and commit the .po and .mo files together.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import SimpleTestCase
from django.urls import reverse
from django.utils import translation

import kaiku
from tests.base import BaseTestCase

PACKAGE_DIR = Path(kaiku.__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
LANGUAGES = ("fi", "et")
# The same options as the Makefile's `messages` target.
MAKEMESSAGES_OPTIONS = [
    "--no-obsolete",
    "--ignore=static/kaiku/vendor/*",
    "--ignore=*/eval/*",
]
HOW_TO_FIX = (
    "Run `make messages`, translate the new or changed entries in "
    "kaiku/locale/fi/LC_MESSAGES/django.po and kaiku/locale/et/LC_MESSAGES/django.po "
    "(no empty msgstr, no #, fuzzy), then commit both .po and .mo files."
)


# --- A small .po reader -------------------------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def label(self) -> str:
        return f"line {self.line}: {self.msgid[:70]!r}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"'), text
    assert text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def read_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """The header fields and the entries (obsolete `#~` entries are left out)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if current is not None and target is not None:
                finish()
            continue
        if line.startswith("#"):
            if current is not None and target is not None:
                finish()  # comments start the next entry
            if current is None:
                current = Entry(line=number)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if current is None:
            current = Entry(line=number)
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert target is not None, f"{path}:{number}: continuation without a keyword"
            value = _unquote(line)
        elif keyword == "msgctxt":
            target, value = ("msgctxt", 0), _unquote(rest)
            current.msgctxt = ""
        elif keyword == "msgid":
            target, value = ("msgid", 0), _unquote(rest)
        elif keyword == "msgid_plural":
            target, value = ("msgid_plural", 0), _unquote(rest)
            current.msgid_plural = ""
        elif keyword == "msgstr":
            target, value = ("msgstr", 0), _unquote(rest)
            current.msgstr[0] = ""
        elif (plural := re.fullmatch(r"msgstr\[(\d+)\]", keyword)) is not None:
            target, value = ("msgstr", int(plural.group(1))), _unquote(rest)
            current.msgstr[target[1]] = ""
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
        name, index = target
        if name == "msgstr":
            current.msgstr[index] += value
        elif name == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + value
        elif name == "msgctxt":
            current.msgctxt = (current.msgctxt or "") + value
        else:
            current.msgid += value
    finish()

    header: dict[str, str] = {}
    if entries and entries[0].msgid == "" and entries[0].msgctxt is None:
        for field_line in entries.pop(0).msgstr.get(0, "").splitlines():
            name, _, value = field_line.partition(":")
            header[name.strip()] = value.strip()
    return header, entries


# --- Placeholders ----------------------------------------------------------------------

CONVERSION = r"[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]"
NAMED = re.compile(r"%\(\w+\)" + CONVERSION)
PYTHON_DIRECTIVE = re.compile(r"%%|%(?:\(\w+\))?" + CONVERSION)
BRACE = re.compile(r"\{(\w*)(?:[!:][^{}]*)?\}")


def placeholders(text: str, flags: set[str]) -> Counter[str]:
    """%(name)s tokens always; %s, %d … for python-format; {name} for python-brace-format."""
    if "python-format" in flags:
        tokens = [t for t in PYTHON_DIRECTIVE.findall(text) if t != "%%"]
    else:
        tokens = NAMED.findall(text)
    if "python-brace-format" in flags:
        tokens += ["{" + name + "}" for name in BRACE.findall(text)]
    return Counter(tokens)


def stray_percent(text: str) -> bool:
    """A % that is neither %% nor a directive breaks `msgstr % values` at run time."""
    return "%" in PYTHON_DIRECTIVE.sub("", text)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


# --- The catalogues ------------------------------------------------------------------------


class CatalogueTests(SimpleTestCase):
    def test_locale_paths_point_at_the_catalogues(self) -> None:
        self.assertIn(LOCALE_DIR, [Path(p).resolve() for p in settings.LOCALE_PATHS])
        for language in LANGUAGES:
            self.assertIn(language, dict(settings.LANGUAGES))

    def test_headers_are_valid(self) -> None:
        for language in LANGUAGES:
            with self.subTest(language=language):
                header, _ = read_po(po_path(language))
                self.assertEqual(header.get("Language"), language)
                self.assertEqual(header.get("Content-Type"), "text/plain; charset=UTF-8")
                self.assertEqual(header.get("Plural-Forms"), "nplurals=2; plural=(n != 1);")

    def test_every_entry_is_translated_and_not_fuzzy(self) -> None:
        for language in LANGUAGES:
            with self.subTest(language=language):
                _, entries = read_po(po_path(language))
                self.assertTrue(entries, f"{po_path(language)} has no entries")
                problems = []
                for entry in entries:
                    if "fuzzy" in entry.flags:
                        problems.append(f"fuzzy: {entry.label()}")
                    forms = 2 if entry.msgid_plural is not None else 1
                    if sorted(entry.msgstr) != list(range(forms)) or not all(entry.msgstr.values()):
                        problems.append(f"untranslated: {entry.label()}")
                self.assertFalse(
                    problems,
                    f"{po_path(language)}:\n" + "\n".join(problems[:40]) + "\n" + HOW_TO_FIX,
                )

    def test_both_languages_have_the_same_msgids(self) -> None:
        fi = {entry.key for entry in read_po(po_path("fi"))[1]}
        et = {entry.key for entry in read_po(po_path("et"))[1]}
        self.assertEqual(fi, et, HOW_TO_FIX)

    def test_translations_keep_the_placeholders(self) -> None:
        for language in LANGUAGES:
            with self.subTest(language=language):
                _, entries = read_po(po_path(language))
                problems = []
                for entry in entries:
                    expected = [placeholders(entry.msgid, entry.flags)]
                    if entry.msgid_plural is not None:
                        expected.append(placeholders(entry.msgid_plural, entry.flags))
                    for index, text in sorted(entry.msgstr.items()):
                        found = placeholders(text, entry.flags)
                        if found not in expected:
                            problems.append(
                                f"{entry.label()} msgstr[{index}] has {sorted(found.elements())}, "
                                f"expected {sorted(expected[-1].elements())}"
                            )
                        if "python-format" in entry.flags and stray_percent(text):
                            problems.append(f"{entry.label()} has a lone % (write %%)")
                self.assertFalse(problems, "\n".join(problems[:40]))

    def test_compiled_catalogues_match_the_po_files(self) -> None:
        for language in LANGUAGES:
            with self.subTest(language=language):
                mo = po_path(language).with_suffix(".mo")
                self.assertTrue(mo.exists(), f"{mo} is missing: run `make messages`")
                with mo.open("rb") as handle:
                    catalog: dict[object, str] = vars(gettext.GNUTranslations(handle))["_catalog"]
                _, entries = read_po(po_path(language))
                expected: dict[object, str] = {}
                for entry in entries:
                    msgid = (
                        entry.msgid
                        if entry.msgctxt is None
                        else f"{entry.msgctxt}\x04{entry.msgid}"
                    )
                    if entry.msgid_plural is None:
                        expected[msgid] = entry.msgstr.get(0, "")
                    else:
                        for index, text in entry.msgstr.items():
                            expected[(msgid, index)] = text
                compiled = {key: value for key, value in catalog.items() if key != ""}
                stale = sorted(
                    repr(key)[:80]
                    for key in expected.keys() | compiled.keys()
                    if expected.get(key) != compiled.get(key)
                )
                self.assertFalse(
                    stale,
                    f"{mo} is out of date with {po_path(language).name} "
                    f"({len(stale)} entries differ, e.g. {stale[:5]}): run "
                    "`cd kaiku && ../.venv/bin/kaiku compilemessages` (or `make messages`) "
                    "and commit the .mo files.",
                )


# --- The .po files follow the source -------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ExtractionTests(SimpleTestCase):
    def test_po_files_hold_the_msgids_of_the_source(self) -> None:
        if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
            if os.environ.get("KAIKU_TEST_REQUIRE_ALL") == "1":
                pytest.fail("GNU gettext is not installed (KAIKU_TEST_REQUIRE_ALL=1)")
            self.skipTest("GNU gettext is not installed")
        real = {language: _digest(po_path(language)) for language in LANGUAGES}
        committed = {entry.key for entry in read_po(po_path("fi"))[1]}

        with tempfile.TemporaryDirectory(prefix="kaiku-messages-") as tmp:
            copy = Path(tmp) / "kaiku"
            shutil.copytree(
                PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            fresh_po = copy / "locale" / "fi" / "LC_MESSAGES" / "django.po"
            fresh_po.unlink()  # extract from scratch, not merged into the committed file
            # The copy's settings put LOCALE_PATHS inside the copy: PYTHONPATH makes
            # `import kaiku` find the copy before the installed (editable) package.
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([tmp, *filter(None, [os.environ.get("PYTHONPATH")])]),
                "DJANGO_SETTINGS_MODULE": "kaiku.settings",
                "KAIKU_DATA_DIR": str(Path(tmp) / "var"),
            }
            makemessages = ["makemessages", "-l", "fi", *MAKEMESSAGES_OPTIONS]
            result = subprocess.run(
                [sys.executable, "-P", "-m", "kaiku", *makemessages],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertTrue(fresh_po.exists(), "makemessages did not write into the copy")
            fresh = {entry.key for entry in read_po(fresh_po)[1]}

        self.assertEqual(
            real,
            {language: _digest(po_path(language)) for language in LANGUAGES},
            "the check wrote into the real kaiku/locale",
        )
        missing = sorted(key[1][:80] for key in fresh - committed)
        obsolete = sorted(key[1][:80] for key in committed - fresh)
        self.assertFalse(
            missing or obsolete,
            f"kaiku/locale is not up to date with the source.\n"
            f"Not in the .po files yet ({len(missing)}): {missing[:20]}\n"
            f"No longer in the source ({len(obsolete)}): {obsolete[:20]}\n{HOW_TO_FIX}",
        )


# --- Pages in Finnish and Estonian ------------------------------------------------------------


class TranslatedPagesTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(translation.deactivate)

    def test_login_page_by_accept_language(self) -> None:
        fi = self.client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="fi")
        self.assertContains(fi, "Kirjaudu sisään")
        self.assertContains(fi, "Unohditko salasanasi?")
        self.assertNotContains(fi, "Forgot your password?")
        et = self.client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="et-EE,et;q=0.9")
        self.assertContains(et, "Logi sisse")
        self.assertContains(et, "Unustasite parooli?")

    def test_login_page_by_language_cookie(self) -> None:
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "et"
        response = self.client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="fi")
        self.assertContains(response, "Logi sisse")
        self.assertNotContains(response, "Kirjaudu sisään")

    def test_respondent_page(self) -> None:
        url = reverse("respond:public", args=[self.survey.public_id])
        fi = self.client.get(url, HTTP_ACCEPT_LANGUAGE="fi")
        self.assertContains(fi, "Lähetä")
        self.assertContains(fi, "En lainkaan todennäköisesti")
        self.assertNotContains(fi, "Not at all likely")
        et = self.client.get(url, HTTP_ACCEPT_LANGUAGE="et")
        self.assertContains(et, "Saada")
        self.assertContains(et, "Üldse mitte tõenäoline")
        self.assertNotContains(et, "Not at all likely")

    def test_survey_list(self) -> None:
        self.login_as(self.alice)
        url = f"/w/{self.workspace.slug}/"
        fi = self.client.get(url, HTTP_ACCEPT_LANGUAGE="fi")
        self.assertContains(fi, "Kyselyt")
        self.assertContains(fi, "Uusi kysely")
        self.assertContains(fi, "Kirjaudu ulos")
        et = self.client.get(url, HTTP_ACCEPT_LANGUAGE="et")
        self.assertContains(et, "Küsitlused")
        self.assertContains(et, "Uus küsitlus")
        self.assertContains(et, "Logi välja")
        self.assertNotContains(et, "New survey")
