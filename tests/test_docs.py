"""The README must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_kaiku_variable_read_by_the_code_is_in_the_readme_table() -> None:
    read = set()
    for path in (ROOT / "kaiku").rglob("*.py"):
        read.update(re.findall(r'env_\w+\(\s*"(KAIKU_[A-Z0-9_]+)"', path.read_text()))
    documented = set(
        re.findall(r"^\| `(KAIKU_[A-Z0-9_]+)` \|", (ROOT / "README.md").read_text(), re.M)
    )
    assert read, "no KAIKU_* variables found: the pattern is broken"
    assert read - documented == set(), "read by the code but missing from the README table"
    assert documented - read == set(), "documented in the README but never read"


def test_the_readme_quickstart_has_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
