"""``python -m rotation_email reminders``: send the reminders due today, for cron or a timer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from rotation_domain import open_program

from rotation_email import send_due_reminders


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; exit status 1 if a reminder could not be sent."""
    parser = argparse.ArgumentParser(prog="python -m rotation_email")
    commands = parser.add_subparsers(dest="command", required=True)
    reminders = commands.add_parser("reminders", help="send the reminders due today")
    reminders.add_argument("--store", help="the store URL (default: ROTATION_STORE)")
    reminders.add_argument(
        "--today", type=date.fromisoformat, help="the day to remind from (YYYY-MM-DD)"
    )
    arguments = parser.parse_args(argv)
    with open_program(arguments.store, inline=False) as program:
        run = send_due_reminders(program, arguments.today)
    print(f"sent {len(run.sent)}, already sent {run.already_sent}, failed {len(run.failed)}")
    for rotation, error in run.failed:
        print(f"rotation {rotation}: {error}", file=sys.stderr)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
