"""Catch every consumer of a store up, slowly, so that a test can kill this process midway.

Usage: python catch_up_slowly.py URL [--per-runner] [--view-delay S] [--fast-first N]
           [--fast-until POSITION]
           [--slow-default-views] [--ledger] [--recorder DIR] [--recorder-delay S]
           [--pause-at POSITION] [--in-place-page N]

Opens the program with ``inline=False`` and brings every consumer to the head of the
log: by ``program.catch_up()`` (every view in one pass over the log, a transaction per
page, then each integration), as a program does after a command; or, with
``--per-runner``, by each consumer's own runner, each in a thread of its own, as
workers do. Each view (see `Slowed`) applies its first N events at full speed and
sleeps ``--view-delay`` seconds before each of the others (with ``--fast-until``: the
events up to that log position at full speed, the later ones slowly). ``--slow-default-views``
replaces the standard views by the same views slowed down (run it with
``ROTATION_DISABLE_PLUGINS=default_views``). With ``--in-place-page N`` the slowed
views keep the standard views' promise (``rebuilds_in_place``), so that views at
position 0 are rebuilt in place (`rotation_domain.rebuild`), committing every N events.
Prints ``done`` and exits 0 when every consumer got to the end.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from consumer_plugins import LedgerView, RecordingIntegration, Slowed, TestConsumers

from rotation_domain import open_program, rebuild
from rotation_domain.consumers import Integration, View
from rotation_domain.default_views import rotation_views as default_views


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--per-runner", action="store_true")
    parser.add_argument("--view-delay", type=float, default=0.0)
    parser.add_argument("--fast-first", type=int, default=0)
    parser.add_argument("--fast-until", type=int)
    parser.add_argument("--slow-default-views", action="store_true")
    parser.add_argument("--ledger", action="store_true")
    parser.add_argument("--recorder", type=Path)
    parser.add_argument("--recorder-delay", type=float, default=0.0)
    parser.add_argument("--pause-at", type=int)
    parser.add_argument("--in-place-page", type=int)
    args = parser.parse_args()
    in_place = args.in_place_page is not None
    if in_place:
        rebuild.PAGE_EVENTS = args.in_place_page

    views: list[View] = []
    if args.slow_default_views:
        views.extend(
            Slowed(
                view,
                args.view_delay,
                fast_first=args.fast_first,
                fast_until=args.fast_until,
                in_place=in_place,
            )
            for view in default_views(settings={})
        )
    if args.ledger:
        views.append(Slowed(LedgerView(), args.view_delay, fast_first=args.fast_first))
    integrations: list[Integration] = []
    if args.recorder is not None:
        integrations.append(
            RecordingIntegration(args.recorder, delay=args.recorder_delay, pause_at=args.pause_at)
        )
    errors: list[BaseException] = []

    def run(runner: Any) -> None:
        try:
            runner.catch_up()
        except BaseException as error:
            errors.append(error)
            raise

    plugin = TestConsumers(views, integrations)
    with open_program(args.url, inline=False, plugins=[plugin]) as program:
        if not args.per_runner:
            program.catch_up()
        else:
            consumers = program.consumers
            runners = [*consumers.views.values(), *consumers.integrations.values()]
            threads = [threading.Thread(target=run, args=(runner,)) for runner in runners]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    if errors:
        return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
