"""The audit commands of ``rotation``: history, timeline, export, verify, seal, --as-of.

The installed command runs in a subprocess on a SQLite file; tampering is done the way
an intruder would, by editing that file with the sqlite3 module behind the program.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_cli import Cli

from rotation_domain import Employee
from rotation_domain.audit import EXPORT_COLUMNS

AUDIT_TRAIL_BROKEN = 8
NO_AUDIT_CHAIN = 9


@pytest.fixture
def observed(company: Cli) -> tuple[Cli, str]:
    """E1's rotation into FIN, mentored by M1, started, with one process observation."""
    rotation = company.ok(
        "plan", "E1", "--host", "FIN", "--start", "2027-02-01", "--end", "2027-02-26", actor="cio"
    )
    mentorship = company.ok("nominate", rotation, "--mentor", "M1", actor="cio")
    company.ok("accept", mentorship, actor="M1")
    company.ok("brief", mentorship, "--on", "2027-01-28", actor="cio")
    company.ok("start", rotation, "--on", "2027-02-01", actor="cio")
    company.ok(
        "observe",
        rotation,
        "Invoices are re-keyed by hand",
        "--on",
        "2027-02-03",
        "--category",
        "process",
        actor="E1",
    )
    return company, rotation


def database(cli: Cli) -> Path:
    assert cli.store is not None
    return Path(cli.store.removeprefix("sqlite:///"))


def test_history_shows_one_rotation_from_plan_to_observation(observed: tuple[Cli, str]) -> None:
    cli, rotation = observed

    entries = cli.json("history", rotation)

    assert [(e["event_type"], e["actor"]) for e in entries] == [
        ("RotationPlanned", "cio"),
        ("MentorshipLinked", "cio"),
        ("RotationStarted", "cio"),
        ("ObservationRecorded", "E1"),
    ]
    assert [e["aggregate_version"] for e in entries] == [1, 2, 3, 4]
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)
    assert entries[-1]["summary"] == "Observation (process): Invoices are re-keyed by hand"
    assert entries[-1]["business_date"] == "2027-02-03"
    assert entries[-1]["data"]["category"] == "process"
    table = cli.ok("history", rotation)
    for heading in ("position", "recorded", "business date", "actor", "event", "summary"):
        assert heading in table
    assert "E1 planned to rotate into FIN from 2027-02-01 to 2027-02-26" in table


def test_history_takes_an_employee_code_and_refuses_unknown_or_malformed_ids(
    observed: tuple[Cli, str],
) -> None:
    cli, _ = observed

    entries = cli.json("history", "employee:E1")

    assert {e["aggregate_id"] for e in entries} == {str(Employee.id_for("E1"))}
    assert [e["event_type"] for e in entries] == ["EmployeeRegistered", "EmployeeAssigned"]
    line = cli.refused(3, "history", "00000000-0000-0000-0000-000000000001")
    assert "UnknownId" in line
    assert "employee:CODE" in cli.refused(2, "history", "not-an-id")


def test_timeline_is_filtered_by_actor_employee_type_time_and_limit(
    observed: tuple[Cli, str],
) -> None:
    cli, rotation = observed

    by_e1 = cli.json("timeline", "--actor", "E1")
    planned = cli.json("timeline", "--type", "RotationPlanned", "--type", "RotationStarted")
    about_m1 = cli.json("timeline", "--employee", "M1")
    about_e2 = cli.json("timeline", "--employee", "E2")
    first_two = cli.json("timeline", "--limit", "2")
    future = cli.json("timeline", "--since", "2999-01-01")

    assert [e["event_type"] for e in by_e1] == ["ObservationRecorded"]
    assert [e["event_type"] for e in planned] == ["RotationPlanned", "RotationStarted"]
    assert {e["aggregate_id"] for e in planned} == {rotation}
    assert "MentorAgreed" in [e["event_type"] for e in about_m1]
    assert "ObservationRecorded" in [e["event_type"] for e in about_m1]  # the rotation M1 mentors
    assert [e["event_type"] for e in about_e2] == ["EmployeeRegistered"]
    assert [e["position"] for e in first_two] == [1, 2]
    assert future == []
    assert "Timeline: no event recorded" in cli.ok("timeline", "--until", "2000-01-01")
    assert "--since" in cli.refused(2, "timeline", "--since", "last tuesday")


def test_export_writes_json_lines_with_a_header_every_event_and_a_trailer(
    observed: tuple[Cli, str],
) -> None:
    cli, _ = observed
    everything = cli.json("timeline")

    lines = [json.loads(line) for line in cli.ok("export").splitlines()]

    header, *events, trailer = lines
    assert header["record"] == "header"
    assert header["format"] == "rotation-domain/audit-export"
    assert header["format_version"] == 1
    assert header["filter"] == {}
    assert header["columns"] == list(EXPORT_COLUMNS)
    assert [e["record"] for e in events] == ["event"] * len(everything)
    assert [{k: e[k] for k in EXPORT_COLUMNS} for e in events] == everything
    assert trailer == {"record": "end", "events": len(everything), "last_position": len(everything)}


def test_export_to_a_file_as_csv_with_filters_shows_a_progress_bar(
    observed: tuple[Cli, str],
) -> None:
    cli, rotation = observed
    target = cli.cwd / "e1.csv"

    done = cli("export", "--format", "csv", "--output", str(target), "--employee", "E1")

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "exporting to e1.csv" in done.stderr
    assert "exported" in done.stderr
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["format_version", *EXPORT_COLUMNS]
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert {r["format_version"] for r in records} == {"1"}
    assert [r["position"] for r in records] == [
        str(e["position"]) for e in cli.json("timeline", "--employee", "E1")
    ]
    observation = next(r for r in records if r["event_type"] == "ObservationRecorded")
    assert observation["aggregate_id"] == rotation
    assert json.loads(observation["data"])["category"] == "process"
    assert not list(cli.cwd.glob(".e1.csv.*")), "no partial file is left behind"


def test_export_to_standard_output_as_csv_parses(observed: tuple[Cli, str]) -> None:
    cli, _ = observed

    rows = list(
        csv.reader(io.StringIO(cli.ok("export", "--format", "csv", "--type", "MentorAgreed")))
    )

    assert rows[0][0] == "format_version"
    assert [row[EXPORT_COLUMNS.index("event_type") + 1] for row in rows[1:]] == ["MentorAgreed"]


def test_verify_passes_then_names_the_position_of_a_payload_edited_in_the_sqlite_file(
    observed: tuple[Cli, str],
) -> None:
    cli, _ = observed
    count = len(cli.json("timeline"))

    assert f"{count} events checked" in cli.ok("verify")
    assert cli.json("verify")["ok"] is True

    with sqlite3.connect(database(cli)) as conn:
        position, state = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE topic = ?",
            ("rotation_domain:RotationPlanned",),
        ).fetchone()
        edited = state.replace(b'"end":"2027-02-26"', b'"end":"2027-03-26"')  # past R2
        assert edited != state
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, position))
    conn.close()

    line = cli.refused(AUDIT_TRAIL_BROKEN, "verify")
    assert line.startswith(f"rotation verify: broken at position {position}:")
    assert "does not match its chain entry" in line
    done = cli("verify", "--json")
    assert done.returncode == AUDIT_TRAIL_BROKEN
    result = json.loads(done.stdout)
    assert (result["ok"], result["broken_at"], result["checked"]) == (False, position, position - 1)
    assert "AuditTrailBroken" in cli.refused(AUDIT_TRAIL_BROKEN, "seal")


def test_a_seal_catches_a_log_cut_back_that_the_chain_alone_does_not(
    observed: tuple[Cli, str],
) -> None:
    cli, _ = observed
    seal_file = cli.cwd / "seal.json"
    cli.ok("seal", "--output", str(seal_file))
    sealed = json.loads(seal_file.read_text())
    assert sealed["format"] == "rotation-domain/audit-seal"
    assert cli.ok("verify", "--seal", str(seal_file)).endswith(
        f"the seal at position {sealed['position']} holds"
    )
    assert "exists" in cli.refused(2, "seal", "--output", str(seal_file))

    with sqlite3.connect(database(cli)) as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = ?", (sealed["position"],))
        conn.execute(
            "DELETE FROM stored_events_audit_chain WHERE position = ?", (sealed["position"],)
        )
    conn.close()

    cli.ok("verify")  # the shorter chain is still a valid chain
    line = cli.refused(AUDIT_TRAIL_BROKEN, "verify", "--seal", str(seal_file))
    assert f"broken at position {sealed['position']}" in line
    assert "events were removed after the seal" in line


def test_a_seal_that_is_not_one_is_invalid_input(observed: tuple[Cli, str]) -> None:
    cli, _ = observed
    bogus = cli.cwd / "bogus.json"
    bogus.write_text('{"hello": "world"}')

    assert "not an audit seal" in cli.refused(2, "verify", "--seal", str(bogus))


def test_verify_and_seal_on_memory_say_there_is_no_chain(tmp_path: Path) -> None:
    cli = Cli("memory:", tmp_path)

    assert "keeps no audit chain" in cli.refused(NO_AUDIT_CHAIN, "verify")
    assert "nothing to seal" in cli.refused(NO_AUDIT_CHAIN, "seal")


def test_as_of_shows_capacity_and_participation_as_the_program_knew_them(
    observed: tuple[Cli, str],
) -> None:
    cli, rotation = observed
    time.sleep(0.01)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    cli.ok("cancel", rotation, "--reason", "needed back in IT", actor="cio")

    now = cli.json("capacity", "--on", "2027-02-10")
    then = cli.json("capacity", "--on", "2027-02-10", "--as-of", moment)
    before_anything = cli.json("capacity", "--on", "2027-02-10", "--as-of", "2000-01-01")
    table = cli.ok("capacity", "--on", "2027-02-10", "--as-of", moment)

    assert now["away"] == []
    assert [a["participant"] for a in then["away"]] == ["E1"]
    assert before_anything["away"] == []
    assert f"as known at {datetime.fromisoformat(moment).isoformat()}" in table
    statuses_now = {r["employee"]: r["status"] for r in cli.json("participation", "2027")}
    statuses_then = {
        r["employee"]: r["status"] for r in cli.json("participation", "2027", "--as-of", moment)
    }
    assert statuses_then["E1"] == "in-progress"
    assert statuses_now["E1"] != "in-progress"
    assert "--as-of" in cli.refused(2, "participation", "--as-of", "yesterday-ish")


def test_an_observation_category_outside_the_list_is_a_usage_error(
    observed: tuple[Cli, str],
) -> None:
    cli, rotation = observed

    done = cli("observe", rotation, "text", "--category", "security", actor="E1")

    assert done.returncode == 2
    assert "communication" in done.stderr
