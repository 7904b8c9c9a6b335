"""A ``rotation worker`` that also runs the test consumers (the CLI loads entry points only).

Usage: python worker_with_plugin.py URL DIR [--claim-interval S] [--poll-interval S]
           [--view-delay S] [--recorder-delay S] [--fail-once-at POSITION] [--backoff S]

Opens the program with ``inline=False``, the standard views, `LedgerView` and a
`RecordingIntegration` writing to DIR, and runs `adapters.worker.Worker` until SIGTERM
or SIGINT. In DIR it writes ``ready-<pid>`` just before the worker starts, and appends a
JSON line per consumer it claims to ``claims-<pid>.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from consumer_plugins import LedgerView, RecordingIntegration, Slowed, TestConsumers

from adapters.worker import Worker
from rotation_domain import open_program


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--claim-interval", type=float, default=0.2)
    parser.add_argument("--poll-interval", type=float, default=0.01)
    parser.add_argument("--view-delay", type=float, default=0.0)
    parser.add_argument("--recorder-delay", type=float, default=0.0)
    parser.add_argument("--fail-once-at", type=int)
    parser.add_argument("--backoff", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(message)s")
    pid = os.getpid()
    claims = args.directory / f"claims-{pid}.jsonl"

    def claimed(name: str) -> None:
        with claims.open("a") as log:
            log.write(json.dumps({"consumer": name, "at": time.time()}) + "\n")

    plugin = TestConsumers(
        [Slowed(LedgerView(), args.view_delay)],
        [
            RecordingIntegration(
                args.directory, delay=args.recorder_delay, fail_once_at=args.fail_once_at
            )
        ],
    )
    settings = {"ROTATION_RETRY_BACKOFF_SECONDS": str(args.backoff)}
    with open_program(args.url, inline=False, plugins=[plugin], settings=settings) as program:
        worker = Worker(
            program,
            claim_interval=args.claim_interval,
            poll_interval=args.poll_interval,
            on_claim=claimed,
        )
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        (args.directory / f"ready-{pid}").write_text(str(pid))
        worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
