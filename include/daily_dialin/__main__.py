"""``python -m daily_dialin <command>``: the application's commands. One so far: ``doctor``
(:mod:`daily_dialin.doctor`); the bootstrap stays ``python -m daily_dialin.bootstrap``.

May import: the standard library and the command modules (lazily).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = (
    "usage: python -m daily_dialin doctor [--json] [--variable NAME] [--meetings-conn-id ID] [--table NAME] "
    "[--daily-conn-id ID] [--room-quota N] [--callers-column NAME]"
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] != "doctor":
        print(f"unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    from daily_dialin.doctor import main as doctor

    return doctor(args[1:])


if __name__ == "__main__":
    sys.exit(main())
