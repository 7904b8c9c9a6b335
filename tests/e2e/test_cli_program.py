"""``init``, ``policy``, ``cycle``, ``exempt`` and the global options, run as a user would."""

from __future__ import annotations

from pathlib import Path

from e2e_cli import Cli


def test_a_read_command_on_a_store_that_does_not_exist_is_refused_as_not_found(
    cli: Cli, tmp_path: Path
) -> None:
    line = cli.refused(3, "participation")

    assert line.startswith("rotation participation: refused: NotFound: there is no store at")
    assert "rotation init" in line
    assert not (tmp_path / "rotation.db").exists(), "no empty store is created by mistake"


def test_init_creates_the_store_and_says_so_and_a_second_init_changes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    first = cli("init")
    second = cli("init")

    assert first.returncode == second.returncode == 0
    assert (tmp_path / "rotation.db").exists()
    assert "is ready: 0 events recorded" in first.stderr
    assert "is ready: 0 events recorded" in second.stderr


def test_a_command_that_records_needs_an_actor_from_as_or_rotation_actor(cli: Cli) -> None:
    cli.ok("init")

    line = cli.refused(2, "department", "add", "FIN", "--name", "Finance")
    assert "ActorRequired" in line
    assert "--as" in line
    assert "ROTATION_ACTOR" in line

    cli.ok("department", "add", "FIN", "--name", "Finance", env={"ROTATION_ACTOR": "cio"})
    cli.ok("department", "add", "OPS", "--name", "Operations", actor="cio")


def test_the_store_can_come_from_rotation_store(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    env = {"ROTATION_STORE": f"sqlite:///{other}"}

    Cli(None, tmp_path).ok("init", "--it-department", "IT", actor="cio", env=env)

    assert other.exists()
    assert not (tmp_path / "rotation.db").exists()


def test_policy_set_changes_only_the_numbers_given_and_policy_shows_them_as_json(
    company: Cli,
) -> None:
    company.ok("policy", "set", "--max-length-days", "21", "--require-briefing", actor="cio")

    policy = company.json("policy")

    assert policy == {
        "max_length_days": 21,
        "max_concurrent": 2,
        "max_guests_per_department": 1,
        "max_mentees_per_mentor": 1,
        "require_briefing": True,
    }
    table = company.ok("policy")
    assert "max_length_days" in table
    assert "R2" in table


def test_a_policy_with_a_cap_of_zero_is_refused_as_invalid_input(company: Cli) -> None:
    line = company.refused(2, "policy", "set", "--max-concurrent", "0", actor="cio")

    assert line.startswith("rotation policy set: refused: InvalidInput:")
    assert company.json("policy")["max_concurrent"] == 2


def test_cycles_are_listed_with_iso_dates_and_their_exemptions(company: Cli) -> None:
    company.ok("exempt", "E2", "2027", "--reason", "parental leave", actor="cio")
    company.ok("cycle", "close", "2027", "--on", "2027-12-31", actor="cio")

    cycles = company.json("cycle", "list")

    assert cycles == [
        {
            "name": "2027",
            "start": "2027-01-01",
            "end": "2027-12-31",
            "closed": True,
            "exemptions": [{"employee": "E2", "reason": "parental leave"}],
        }
    ]


def test_exempting_someone_outside_it_is_refused_by_rule_r3_with_exit_code_4(
    company: Cli,
) -> None:
    line = company.refused(4, "exempt", "M1", "2027", "--reason", "busy", actor="cio")

    assert "NotAnITEmployee" in line
    assert "M1" in line


def test_an_unknown_cycle_is_not_found(company: Cli) -> None:
    assert "UnknownReviewCycle" in company.refused(
        3, "exempt", "E1", "2031", "--reason", "x", actor="cio"
    )
    assert "no review cycle is named '2031'" in company.refused(3, "participation", "2031")


def test_a_usage_error_exits_with_2_and_a_malformed_date_is_invalid_input(company: Cli) -> None:
    usage = company("plan", "E1", actor="cio")
    assert usage.returncode == 2
    assert "Missing option" in usage.stderr

    line = company.refused(
        2,
        "plan",
        "E1",
        "--host",
        "FIN",
        "--start",
        "2027-02-30",
        "--end",
        "2027-03-10",
        actor="cio",
    )
    assert "InvalidInput" in line


def test_shell_completion_is_clicks_and_completes_command_names(cli: Cli) -> None:
    script = cli(env={"_ROTATION_COMPLETE": "bash_source"})
    assert script.returncode == 0
    assert "_rotation_completion" in script.stdout

    done = cli(
        env={"_ROTATION_COMPLETE": "bash_complete", "COMP_WORDS": "rotation pl", "COMP_CWORD": "1"}
    )
    names = {line.split(",", 1)[1] for line in done.stdout.split()}
    assert {"plan", "plugins"} <= names


def test_version_and_help_list_the_command_families_and_exit_codes(cli: Cli) -> None:
    help_text = cli.ok("--help")

    for name in ("plan", "nominate", "session", "propose", "participation", "report", "demo"):
        assert name in help_text
    assert "4 refused by a rule" in help_text
    assert cli.ok("--version").startswith("rotation, version")
