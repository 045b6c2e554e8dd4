"""Settings come from KAIKU_* variables, read by typed helpers that fail loudly.

The helpers are tested with an `environ=` mapping; the settings module itself
is imported in a fresh Python process, because production mode must refuse to
start rather than run with a guessable key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kaiku.lib.env import env_bool, env_choice, env_int, env_list, env_secret, env_str, env_url

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "-production-key-0123456789"


class TestEnvBool:
    @pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " True "])
    def test_it_reads_true(self, raw: str) -> None:
        assert env_bool("KAIKU_X", False, environ={"KAIKU_X": raw}) is True

    @pytest.mark.parametrize("raw", ["0", "false", "No", "off"])
    def test_it_reads_false(self, raw: str) -> None:
        assert env_bool("KAIKU_X", True, environ={"KAIKU_X": raw}) is False

    def test_missing_or_blank_is_the_default(self) -> None:
        assert env_bool("KAIKU_X", True, environ={}) is True
        assert env_bool("KAIKU_X", False, environ={"KAIKU_X": "  "}) is False

    def test_anything_else_names_the_variable(self) -> None:
        with pytest.raises(ImproperlyConfigured, match=r"KAIKU_X must be true or false.*'maybe'"):
            env_bool("KAIKU_X", True, environ={"KAIKU_X": "maybe"})


class TestEnvInt:
    def test_it_reads_a_number_within_bounds(self) -> None:
        assert env_int("KAIKU_N", 1, minimum=0, maximum=10, environ={"KAIKU_N": "7"}) == 7
        assert env_int("KAIKU_N", 3, environ={}) == 3

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("seven", r"KAIKU_N must be a whole number, got 'seven'"),
            ("1.5", r"KAIKU_N must be a whole number"),
            ("-1", r"KAIKU_N must be at least 0, got -1"),
            ("11", r"KAIKU_N must be at most 10, got 11"),
        ],
    )
    def test_bad_values_name_the_variable(self, raw: str, message: str) -> None:
        with pytest.raises(ImproperlyConfigured, match=message):
            env_int("KAIKU_N", 1, minimum=0, maximum=10, environ={"KAIKU_N": raw})


class TestEnvList:
    def test_it_splits_on_commas_and_drops_blanks(self) -> None:
        raw = " a.example , b.example,,"
        assert env_list("KAIKU_L", [], environ={"KAIKU_L": raw}) == ["a.example", "b.example"]

    def test_missing_is_a_copy_of_the_default(self) -> None:
        default = ["x"]
        value = env_list("KAIKU_L", default, environ={})
        assert value == ["x"]
        assert value is not default


class TestEnvChoice:
    def test_it_accepts_a_listed_value(self) -> None:
        assert env_choice("KAIKU_C", "en", ["en", "fi"], environ={"KAIKU_C": "fi"}) == "fi"

    def test_it_refuses_another_and_lists_the_choices(self) -> None:
        with pytest.raises(ImproperlyConfigured, match=r"KAIKU_C must be one of en, fi, got 'sv'"):
            env_choice("KAIKU_C", "en", ["en", "fi"], environ={"KAIKU_C": "sv"})


class TestEnvSecret:
    def test_it_reads_the_variable(self) -> None:
        assert env_secret("KAIKU_S", environ={"KAIKU_S": "hunter2"}) == "hunter2"

    def test_a_file_wins_and_is_stripped(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret"
        secret.write_text("from-file\n", encoding="utf-8")
        environ = {"KAIKU_S": "from-env", "KAIKU_S_FILE": str(secret)}
        assert env_secret("KAIKU_S", environ=environ) == "from-file"

    def test_an_unreadable_file_names_the_variable(self, tmp_path: Path) -> None:
        environ = {"KAIKU_S_FILE": str(tmp_path / "missing")}
        with pytest.raises(ImproperlyConfigured, match=r"KAIKU_S_FILE: cannot read .*missing"):
            env_secret("KAIKU_S", environ=environ)

    def test_missing_is_the_default(self) -> None:
        assert env_secret("KAIKU_S", "fallback", environ={}) == "fallback"


class TestEnvUrl:
    def test_it_drops_a_trailing_slash(self) -> None:
        url = env_url("KAIKU_U", "http://x", environ={"KAIKU_U": "https://kaiku.example/"})
        assert url == "https://kaiku.example"

    @pytest.mark.parametrize("raw", ["kaiku.example", "ftp://kaiku.example", "https://"])
    def test_anything_but_an_absolute_http_url_names_the_variable(self, raw: str) -> None:
        with pytest.raises(
            ImproperlyConfigured, match=r"KAIKU_U must be an absolute http\(s\) URL"
        ):
            env_url("KAIKU_U", "http://x", environ={"KAIKU_U": raw})

    def test_env_str_trims(self) -> None:
        assert env_str("KAIKU_T", "d", environ={"KAIKU_T": "  v "}) == "v"


# --- The settings module in a fresh process ------------------------------------------

PRINT_SECURITY = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
    "s.ALLOWED_HOSTS)"
)


def start(
    tmp_path: Path, code: str = "import django; django.setup()", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter with only the given KAIKU_* variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAIKU_")}
    clean.update(
        DJANGO_SETTINGS_MODULE="kaiku.settings",
        KAIKU_DATA_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestProductionMode:
    def test_it_refuses_to_start_without_a_secret_key(self, tmp_path: Path) -> None:
        result = start(tmp_path, KAIKU_DEBUG="false", KAIKU_ALLOWED_HOSTS="kaiku.example")
        assert result.returncode != 0
        assert "KAIKU_SECRET_KEY (at least 32 characters) is required" in result.stderr

    def test_it_refuses_a_short_key(self, tmp_path: Path) -> None:
        result = start(
            tmp_path, KAIKU_DEBUG="false", KAIKU_SECRET_KEY="short", KAIKU_ALLOWED_HOSTS="k.example"
        )
        assert result.returncode != 0
        assert "KAIKU_SECRET_KEY" in result.stderr

    def test_it_refuses_to_start_without_allowed_hosts(self, tmp_path: Path) -> None:
        result = start(tmp_path, KAIKU_DEBUG="false", KAIKU_SECRET_KEY=GOOD_KEY)
        assert result.returncode != 0
        assert "KAIKU_ALLOWED_HOSTS is required" in result.stderr

    def test_with_a_key_and_hosts_it_starts_locked_down(self, tmp_path: Path) -> None:
        result = start(
            tmp_path,
            PRINT_SECURITY,
            KAIKU_DEBUG="false",
            KAIKU_SECRET_KEY=GOOD_KEY,
            KAIKU_ALLOWED_HOSTS="kaiku.example",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "True", "True", "31536000", "['kaiku.example']"]

    def test_the_key_can_come_from_a_file(self, tmp_path: Path) -> None:
        key_file = tmp_path / "key"
        key_file.write_text(GOOD_KEY + "\n", encoding="utf-8")
        result = start(
            tmp_path,
            PRINT_SECURITY,
            KAIKU_DEBUG="false",
            KAIKU_SECRET_KEY_FILE=str(key_file),
            KAIKU_ALLOWED_HOSTS="kaiku.example",
            KAIKU_HSTS_SECONDS="600",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[3] == "600"

    def test_debug_mode_starts_with_no_configuration(self, tmp_path: Path) -> None:
        result = start(tmp_path, PRINT_SECURITY)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[:2] == ["True", "False"]

    def test_a_bad_boolean_stops_the_start_naming_the_variable(self, tmp_path: Path) -> None:
        result = start(tmp_path, KAIKU_DEBUG="nope")
        assert result.returncode != 0
        assert "KAIKU_DEBUG must be true or false" in result.stderr


class TestDatabaseUrl:
    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mysql://u:p@db/kaiku", "KAIKU_DATABASE_URL: only sqlite:// and postgres://"),
            ("nosuch://db/kaiku", "KAIKU_DATABASE_URL is not a database URL"),
        ],
    )
    def test_an_unsupported_scheme_is_a_clear_error(
        self, tmp_path: Path, url: str, message: str
    ) -> None:
        result = start(tmp_path, KAIKU_DATABASE_URL=url)
        assert result.returncode != 0
        assert message in result.stderr
        assert "ImproperlyConfigured" in result.stderr

    def test_sqlite_is_the_default_under_the_data_dir(self, tmp_path: Path) -> None:
        code = (
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['NAME'])"
        )
        result = start(tmp_path, code)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(tmp_path / "kaiku.sqlite3")
