"""The `kaiku` console script: a thin wrapper over Django's management commands.

`kaiku analyze` must work without a database or any configuration, so it is
dispatched before Django is set up.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and args[1] == "analyze":
        from kaiku.analyze.cli import main as analyze_main

        raise SystemExit(analyze_main(args[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
