"""``rotation demo`` (the main job) and ``rotation report --html``, run as a user would.

The demo runs Northwind's year into a SQLite file and writes the report beside it; the
same seed gives the same events (apart from recorded timestamps and the random ids the
library gives new rotations, mentorships and improvements, which are compared by the
order they first appear in).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_cli import Cli

from rotation_domain import open_program

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REFUSALS = (
    "RotationTooLong",
    "HostDepartmentNotEligible",
    "UnknownEmployee",
    "NotAuthorized",
    "MentorNotInHostDepartment",
    "MentorNotAgreed",
    "HostDepartmentFull",
    "OverlappingRotation",
    "InvalidTransition",
    "MentorUnavailable",
    "ImprovementRequired",
    "OutsideRotationWindow",
    "CapacityExceeded",
)


def events_without_timestamps_or_random_ids(store: str) -> list[Any]:
    """The log as (topic, aggregate, data) with timestamps dropped and ids numbered."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), f"id-{len(numbers)}")

    found = []
    # Read through the program: personal fields are stored sealed with random nonces, so the
    # stored bytes differ between two runs while what they say does not.
    with open_program(store, inline=False) as program:
        for entry in program.timeline():
            data = dict(entry.data)
            data.pop("timestamp", None)
            text = json.dumps([entry.topic, str(entry.aggregate_id), data], sort_keys=True)
            found.append(json.loads(UUID_TEXT.sub(number, text)))
    return found


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, str, float]:
    """The demo run once, with the default seed: the command, its output and its duration."""
    folder = tmp_path_factory.mktemp("demo")
    cli = Cli(f"sqlite:///{folder / 'demo-rotation.db'}", folder)
    began = time.perf_counter()
    output = cli.ok("demo", "--fresh", "--quiet")
    return cli, output, time.perf_counter() - began


def test_the_demo_runs_a_year_quickly_and_shows_its_refusals_and_a_summary(
    demo_store: tuple[Cli, str, float],
) -> None:
    cli, output, seconds = demo_store

    assert seconds < 45, f"the demo took {seconds:.1f} s"
    assert "60 IT staff in 5 IT teams, 8 business departments with 24 mentors" in output
    assert "Refused commands" in output
    for error in REFUSALS:
        assert f"{error}:" in output, f"the demo shows no {error}"
    assert "Unexpected refusals" not in output
    assert (cli.cwd / "demo-rotation.html").stat().st_size > 20_000


def test_the_demo_store_answers_the_cli_views_like_a_real_program(
    demo_store: tuple[Cli, str, float],
) -> None:
    cli, _, _ = demo_store

    participation = cli.json("participation", "FY2027")
    statuses = {row["status"] for row in participation}
    assert len(participation) == 60
    assert statuses == {"met", "exempted", "missed"}
    mentors = cli.json("mentor-engagement")
    assert sum(m["declined"] for m in mentors) > 0
    assert all(m["briefed"] <= m["agreed"] for m in mentors)
    # Every mentor of a rotation that started was briefed (R5 is required in the demo);
    # two agreed mentorships ended with a departure and a cancellation before that.
    assert sum(m["briefed"] for m in mentors) == sum(m["agreed"] for m in mentors) - 2
    kinds = ("discussion_sessions", "reading_sessions", "hands_on_sessions")
    assert all(sum(m[k] for m in mentors) > 0 for k in kinds)
    improvements = cli.json("improvement-pipeline")["improvements"]
    assert {i["status"] for i in improvements} == {"adopted", "rejected", "withdrawn", "proposed"}
    peaks = cli.json("capacity", "--from", "2027-01-01", "--to", "2027-12-31")
    assert max(day["program"]["count"] for day in peaks) == 6
    assert all(day["program"]["count"] <= day["program"]["cap"] for day in peaks)


def test_the_same_seed_gives_the_same_events_and_another_seed_another_story(
    demo_store: tuple[Cli, str, float], tmp_path: Path
) -> None:
    cli, _, _ = demo_store
    again = Cli(f"sqlite:///{tmp_path / 'again.db'}", tmp_path)
    other = Cli(f"sqlite:///{tmp_path / 'other.db'}", tmp_path)
    again.ok("demo", "--quiet", "--no-report")
    other.ok("demo", "--quiet", "--no-report", "--seed", "7")

    first = events_without_timestamps_or_random_ids(cli.store or "")
    assert events_without_timestamps_or_random_ids(again.store or "") == first
    assert events_without_timestamps_or_random_ids(other.store or "") != first


def test_the_demo_refuses_a_store_that_already_holds_events(
    demo_store: tuple[Cli, str, float],
) -> None:
    cli, _, _ = demo_store

    done = cli("demo", "--quiet", "--no-report")

    assert done.returncode == 6
    assert "already holds events" in done.stderr


def test_report_writes_one_self_contained_html_file_with_every_chart(
    demo_store: tuple[Cli, str, float], tmp_path: Path
) -> None:
    cli, _, _ = demo_store
    target = tmp_path / "report.html"

    assert cli.ok("report", "--html", str(target)) == str(target)

    page = target.read_text(encoding="utf-8")
    for chart in ("timeline", "away", "participation", "funnel", "mentors", "bridges"):
        assert f'data-chart="{chart}"' in page
    outside = set(re.findall(r"https?://[^\"' )]+", page)) - {"http://www.w3.org/2000/svg"}
    assert outside == set(), "the report needs nothing from the network"
    assert "<link" not in page
    assert "<script src" not in page
    assert page.count('class="bar"') > 100


def test_report_refuses_a_span_that_ends_before_it_starts(
    demo_store: tuple[Cli, str, float], tmp_path: Path
) -> None:
    cli, _, _ = demo_store

    line = cli.refused(
        2,
        "report",
        "--html",
        str(tmp_path / "r.html"),
        "--from",
        "2027-06-01",
        "--to",
        "2027-01-01",
    )

    assert "before its first day" in line
