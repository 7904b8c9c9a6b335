"""A rebuild shared among processes gives exactly the rows of a rebuild in one process.

The reference is ``program.rebuild(workers=1)``. Every test rebuilds the same log with
worker processes too and compares every row of every view and every position; the
workers are real processes (`rotation_domain.rebuild_processes`), on a SQLite file and
on PostgreSQL, killed or refused their views in some tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.integration import rebuild_probes
from tests.integration.test_rebuild_in_place import every_row, positions, told_more

from rotation_domain import InvalidInput, RotationProgram, open_program, rebuild_processes
from rotation_domain.rebuild_processes import Reopen, split

Rows = dict[str, list[tuple[str, dict[str, Any]]]]


def d(month: int, day: int) -> date:
    return date(2027, month, day)


@pytest.fixture
def program(shared_store_url: str) -> Iterator[RotationProgram]:
    """A program with the standard views and ``planned``, that lived the story."""
    with open_program(shared_store_url, today=lambda: d(1, 1), plugins=[rebuild_probes]) as opened:
        told_more(opened)
        yield opened


def rebuilt(program: RotationProgram, workers: int) -> tuple[Rows, dict[str, int], list[int]]:
    """Every row and position after a rebuild with ``workers``, and the progress reported."""
    reported: list[int] = []
    processes = program.rebuild(workers=workers, progress=lambda done, total: reported.append(done))
    expected = 1 if program.reopen is None else min(workers, len(program.consumers.views))
    if not isinstance(program.reopen, Reopen) or any(
        isinstance(p, LocalPlugin) for p in program.reopen.plugins
    ):
        expected = 1
    assert processes == expected
    return every_row(program), positions(program), reported


def head(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


@pytest.mark.parametrize("workers", [2, 6])
def test_a_rebuild_in_several_processes_gives_every_row_of_one_process(
    program: RotationProgram, workers: int
) -> None:
    rows, at, _ = rebuilt(program, 1)

    shared_rows, shared_at, reported = rebuilt(program, workers)

    assert shared_rows == rows
    assert shared_at == at == dict.fromkeys(program.consumers.views, head(program))
    assert rows["planned"]  # the probe's view was rebuilt too
    assert reported == sorted(reported)
    assert reported[-1] == head(program)


def test_this_process_keeps_the_heaviest_group_and_starts_a_process_for_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    original = rebuild_processes._Worker.__init__

    def spy(self: Any, number: int, recipe: Reopen, head: int, group: list[Any], out: Any) -> None:
        original(self, number, recipe, head, group, out)
        assert self.process.pid != os.getpid()
        started.append([runner.name for runner in group])

    monkeypatch.setattr(rebuild_processes._Worker, "__init__", spy)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_program(url, today=lambda: d(1, 1)) as program:
        told_more(program)
        program.rebuild(workers=3)
        views = set(program.consumers.views)
        assert every_row(program)["participation"]
    assert len(started) == 2  # this process keeps the heaviest group
    assert set().union(*started) < views


@pytest.mark.parametrize(
    ("variable", "logged"),
    [
        (rebuild_probes.KILL_VARIABLE, "exited with status -9"),
        (rebuild_probes.PARENT_ONLY_VARIABLE, "view planned (version 1) is missing"),
    ],
    ids=["killed", "without-the-view"],
)
def test_a_worker_that_fails_leaves_its_views_to_the_calling_process(
    program: RotationProgram,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    logged: str,
) -> None:
    rows, at, _ = rebuilt(program, 1)
    monkeypatch.setenv(variable, "1")  # the worker that folds ``planned`` dies, or lacks it

    with caplog.at_level(logging.WARNING, logger="rotation_domain.rebuild_processes"):
        failed_rows, failed_at, _ = rebuilt(program, len(program.consumers.views))

    assert failed_rows == rows
    assert failed_at == at
    assert "views planned failed" in caplog.text
    assert logged in caplog.text


def test_a_worker_that_cannot_start_leaves_its_views_to_the_calling_process(
    program: RotationProgram, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rows, at, _ = rebuilt(program, 1)
    monkeypatch.setattr(rebuild_processes.sys, "executable", "/nonexistent/python")

    with caplog.at_level(logging.WARNING, logger="rotation_domain.rebuild_processes"):
        alone_rows, alone_at, _ = rebuilt(program, 2)

    assert (alone_rows, alone_at) == (rows, at)
    assert "could not be started" in caplog.text


def test_a_worker_that_opens_another_store_gives_its_views_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'real.db'}"
    with open_program(url, today=lambda: d(1, 1)) as program:
        told_more(program)
        rows, at, _ = rebuilt(program, 1)
        assert program.reopen is not None
        program.reopen = Reopen(url=f"sqlite:///{tmp_path / 'other.db'}")

        with caplog.at_level(logging.WARNING, logger="rotation_domain.rebuild_processes"):
            assert program.rebuild(workers=2) == 2
        assert (every_row(program), positions(program)) == (rows, at)
    assert "opened a store whose log ends at 0" in caplog.text


def test_a_relative_sqlite_path_reaches_the_workers_whatever_the_directory_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    with open_program("sqlite:///relative.db", today=lambda: d(1, 1)) as program:
        told_more(program)
        rows, at, _ = rebuilt(program, 1)
        assert program.reopen is not None
        assert program.reopen.settings["SQLITE_DBNAME"] == str(tmp_path / "relative.db")
        monkeypatch.chdir(tmp_path / "elsewhere")

        with caplog.at_level(logging.WARNING, logger="rotation_domain.rebuild_processes"):
            assert rebuilt(program, 2)[:2] == (rows, at)
    assert caplog.text == ""
    assert not (tmp_path / "elsewhere" / "relative.db").exists()


class LocalPlugin:
    """A plugin object no other process can have: it holds a function made here."""

    def __init__(self) -> None:
        self.made_here = lambda: None


def test_plugins_that_cannot_be_sent_keep_the_rebuild_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_worker(*args: Any) -> None:
        raise AssertionError("no worker may start")

    monkeypatch.setattr(rebuild_processes._Worker, "__init__", no_worker)
    url = f"sqlite:///{tmp_path / 'local.db'}"
    with open_program(url, today=lambda: d(1, 1), plugins=[LocalPlugin()]) as program:
        told_more(program)
        rows, _, _ = rebuilt(program, 1)
        assert rebuilt(program, 4)[0] == rows


def test_a_plugin_of_the_main_script_cannot_be_sent() -> None:
    main_plugin: Any = type("MainPlugin", (), {"__module__": "__main__"})()

    assert "main script" in (Reopen("memory:", {}, (main_plugin,)).unsendable() or "")
    assert "cannot be pickled" in (Reopen("memory:", {}, (LocalPlugin(),)).unsendable() or "")
    assert Reopen("memory:", {}, ("tests.integration.rebuild_probes",)).unsendable() is None


def test_a_store_in_memory_is_rebuilt_in_one_process() -> None:
    with open_program("memory:", today=lambda: d(1, 1)) as program:
        told_more(program)
        assert program.reopen is None
        rows, _, _ = rebuilt(program, 1)
        assert rebuilt(program, 3)[0] == rows


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_a_rebuild_refuses_workers_that_are_not_a_whole_number_from_1(workers: Any) -> None:
    with open_program("memory:") as program, pytest.raises(InvalidInput, match="at least 1"):
        program.rebuild(workers=workers)


def test_the_setting_gives_the_workers_and_refuses_nonsense(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'set.db'}"
    monkeypatch.setenv("ROTATION_REBUILD_WORKERS", "3")
    with open_program(url) as program:
        assert program.rebuild_workers == 3
    monkeypatch.setenv("ROTATION_REBUILD_WORKERS", "auto")
    with open_program(url) as program:
        assert program.rebuild_workers is None
    monkeypatch.setenv("ROTATION_REBUILD_WORKERS", "many")
    with pytest.raises(InvalidInput, match="ROTATION_REBUILD_WORKERS must be auto or"):
        open_program(url)


def test_without_a_number_a_small_log_is_rebuilt_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    url = f"sqlite:///{tmp_path / 'small.db'}"
    with open_program(url, today=lambda: d(1, 1)) as program:
        told_more(program)
        original = program.consumers.rebuild

        def spy(*args: Any, workers: int, **kwargs: Any) -> None:
            asked.append(workers)
            original(*args, workers=workers, **kwargs)

        monkeypatch.setattr(program.consumers, "rebuild", spy)
        program.rebuild()
        monkeypatch.setattr("rotation_domain.application.PARALLEL_MIN_EVENTS", 1)
        monkeypatch.setattr("rotation_domain.application.available_cpus", lambda: 2)
        program.rebuild()
    assert asked == [1, 2]


class Weighted:
    def __init__(self, name: str) -> None:
        self.name = name


def test_views_are_split_into_groups_of_about_equal_weight() -> None:
    views: Any = [Weighted(n) for n in "abcde"]
    weights = {"a": 387, "b": 149, "c": 162, "d": 76, "e": 265}

    groups = split(views, weights, 2)

    assert [[v.name for v in g] for g in groups] == [["a", "b"], ["e", "c", "d"]]
    assert [[v.name for v in g] for g in split(views, weights, 9)] == [
        ["a"],
        ["e"],
        ["c"],
        ["b"],
        ["d"],
    ]
    assert [[v.name for v in g] for g in split(views, weights, 1)] == [list("aecbd")]
