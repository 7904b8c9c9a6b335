"""The plugin author's test toolkit: fixtures, scenario steps and expectations.

Enable the fixtures by adding one line to the ``conftest.py`` at the root of your tests::

    pytest_plugins = ["rotation_domain.testing"]

Then a test registers the plugin it checks on an in-memory program of its own, drives a
scenario with `given`, and checks what the plugin's views answer with `expect_view` and
what its integrations did with `expect_side_effects`::

    def test_observations_are_listed_by_host(register_plugin):
        program = register_plugin(my_plugin)
        _, rotation = given(program, small_company, rotation_in_progress("E1", "FIN", "M1"))
        given(program, command("record_observation", rotation, "Invoices re-keyed"))
        assert expect_view(program, "my_view", "FIN") == ["Invoices re-keyed"]

The helpers are plain functions: they work without pytest's fixtures too
(`open_test_program` is what the fixtures call). This module needs pytest; it is not
imported by the rest of the library. Its checks raise `AssertionError` with messages of
their own, so pytest need not rewrite it, and a test module may import it before pytest
loads it as a plugin: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from importlib.metadata import entry_points
from typing import Any, Protocol
from uuid import UUID

import attrs
import pytest

from rotation_domain.application import RotationProgram, open_program
from rotation_domain.consumers import Delivery, Envelope, Integration
from rotation_domain.hookspecs import PROJECT, hookimpl

__all__ = [
    "ACTOR",
    "TEST_SETTINGS",
    "TODAY",
    "Command",
    "DeliveryFailed",
    "RecordingIntegration",
    "RegisterPlugin",
    "Step",
    "command",
    "expect_side_effects",
    "expect_view",
    "failures_of",
    "given",
    "open_test_program",
    "plan",
    "register_plugin",
    "rotation_in_progress",
    "rotation_program",
    "small_company",
    "topic",
]

TODAY = date(2027, 1, 1)
"""What the test programs' clock says: the business date of commands given no date."""

ACTOR = "cio@example.com"
"""Who `given` runs the scenario's commands as, unless a step names another actor."""

TEST_SETTINGS: Mapping[str, str] = {"ROTATION_RETRY_BACKOFF_SECONDS": "0"}
"""Settings every test program starts from: a failed delivery is due again at once."""

Step = Callable[[RotationProgram], object] | tuple[Any, ...]
"""One step of a scenario: a function of the program, or a command as a tuple.

A tuple names a command of `RotationProgram` and its positional arguments; a dict as
its last item holds the keyword arguments:
``("plan_rotation", "E1", {"host_department": "FIN", "start": ..., "end": ...})``.
"""


def topic(event: str) -> str:
    """The topic of one of the library's events: ``topic("RotationPlanned")``.

    A text that already holds a ``:`` is taken to be a topic and returned as it is.
    """
    return event if ":" in event else f"{PROJECT}:{event}"


# ---------------------------------------------------------------- programs and fixtures


def open_test_program(
    *plugins: object,
    settings: Mapping[str, str] | None = None,
    today: date = TODAY,
    inline: bool = True,
    entry_points_too: bool = False,
) -> RotationProgram:
    """Open an in-memory program for a test; the caller closes it.

    Args:
        *plugins: Plugins to register besides the default plugins.
        settings: Plugin settings, applied over `TEST_SETTINGS`.
        today: The program's clock.
        inline: Whether views and integrations catch up after each command.
        entry_points_too: Also load the plugins installed under the ``rotation_domain``
            entry-point group. Without it they are blocked (listed as ``blocked`` by
            ``program.plugins()``), so a test sees only the plugins it registered and
            the defaults, whatever else is installed.
    """
    merged = {**TEST_SETTINGS, **(settings or {})}

    def opened() -> RotationProgram:
        return open_program(
            "memory:", today=lambda: today, settings=merged, plugins=plugins, inline=inline
        )

    if entry_points_too:
        return opened()
    with _entry_points_blocked():
        program = opened()
    return program


@contextlib.contextmanager
def _entry_points_blocked() -> Iterator[None]:
    """Add the installed entry-point plugins to ``ROTATION_DISABLE_PLUGINS`` for a while."""
    names = {entry_point.name for entry_point in entry_points(group=PROJECT)}
    if not names:
        yield
        return
    before = os.environ.get("ROTATION_DISABLE_PLUGINS")
    already = {part.strip() for part in (before or "").split(",") if part.strip()}
    os.environ["ROTATION_DISABLE_PLUGINS"] = ",".join(sorted(already | names))
    try:
        yield
    finally:
        if before is None:
            del os.environ["ROTATION_DISABLE_PLUGINS"]
        else:
            os.environ["ROTATION_DISABLE_PLUGINS"] = before


class RegisterPlugin(Protocol):
    """The function the `register_plugin` fixture returns."""

    def __call__(
        self,
        plugin: object,
        *more: object,
        settings: Mapping[str, str] | None = None,
        today: date = TODAY,
        inline: bool = True,
    ) -> RotationProgram:
        """Open an in-memory program with these plugins registered, for this test only."""
        ...


@pytest.fixture
def rotation_program() -> Iterator[RotationProgram]:
    """An empty in-memory program whose clock says `TODAY`, closed after the test.

    It loads what a user's program loads: the default plugins and every plugin
    installed under the ``rotation_domain`` entry-point group (subject to
    ``ROTATION_PLUGINS`` and ``ROTATION_DISABLE_PLUGINS``).
    """
    program = open_test_program(entry_points_too=True)
    try:
        yield program
    finally:
        program.close()


@pytest.fixture
def register_plugin() -> Iterator[RegisterPlugin]:
    """A function that opens an in-memory program with a plugin registered, for one test.

    ``register_plugin(plugin, *more, settings=None, today=TODAY, inline=True)`` returns
    a `RotationProgram` with the default plugins and the given ones; installed
    entry-point plugins are blocked so they cannot interfere. Every program it opened
    is closed after the test.
    """
    opened: list[RotationProgram] = []

    def register(
        plugin: object,
        *more: object,
        settings: Mapping[str, str] | None = None,
        today: date = TODAY,
        inline: bool = True,
    ) -> RotationProgram:
        program = open_test_program(plugin, *more, settings=settings, today=today, inline=inline)
        opened.append(program)
        return program

    try:
        yield register
    finally:
        for program in reversed(opened):
            program.close()


# ---------------------------------------------------------------- scenarios


@attrs.frozen
class Command:
    """A command of `RotationProgram` with its arguments, run later on a program.

    Build one with `command`; calling it with a program runs the command and returns
    what the command returns (an id, a code, or None).
    """

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.name.startswith("_") or not callable(getattr(RotationProgram, self.name, None)):
            raise ValueError(f"RotationProgram has no command named {self.name!r}")

    def __call__(self, program: RotationProgram) -> object:
        """Run the command on ``program``."""
        method: Callable[..., object] = getattr(program, self.name)
        return method(*self.args, **self.kwargs)


def command(name: str, /, *args: Any, **kwargs: Any) -> Command:
    """A scenario step that runs ``program.<name>(*args, **kwargs)``.

    Example: ``command("record_observation", rotation, "Invoices re-keyed")``.
    """
    return Command(name, args, kwargs)


def plan(
    employee: str,
    host_department: str,
    *,
    start: date | str = "2027-01-04",
    end: date | str = "2027-01-29",
    actor: str | None = None,
) -> Command:
    """A step that plans ``employee``'s rotation into ``host_department`` (January 2027)."""
    return command(
        "plan_rotation",
        employee,
        host_department=host_department,
        start=start,
        end=end,
        actor=actor,
    )


def rotation_in_progress(
    employee: str,
    host_department: str,
    mentor: str,
    *,
    start: date | str = "2027-01-04",
    end: date | str = "2027-01-29",
) -> Callable[[RotationProgram], UUID]:
    """A step that plans a rotation, has ``mentor`` agree to guide it, and starts it.

    The mentor accepts as themselves; the rotation starts on its first day. The step
    returns the rotation's id.
    """

    def run(program: RotationProgram) -> UUID:
        rotation = program.plan_rotation(
            employee, host_department=host_department, start=start, end=end
        )
        mentorship = program.nominate_mentor(rotation, mentor=mentor)
        program.accept_mentorship(mentorship, actor=mentor)
        program.start_rotation(rotation, on=start)
        return rotation

    return run


def small_company(program: RotationProgram) -> None:
    """A scenario step that registers a small company with the default policy.

    Departments: ``IT`` (an IT department), ``FIN`` and ``OPS``. Employees: ``E1`` and
    ``E2`` in IT; mentors ``M1`` in FIN and ``M2`` in OPS. E-mail addresses are
    ``<code>@example.com`` in lower case.
    """
    program.register_department("IT", name="Information Technology", is_it=True)
    program.register_department("FIN", name="Finance")
    program.register_department("OPS", name="Operations")
    for code, department in (("E1", "IT"), ("E2", "IT"), ("M1", "FIN"), ("M2", "OPS")):
        program.register_employee(
            code,
            name=f"Employee {code}",
            email=f"{code.lower()}@example.com",
            department=department,
        )


def _as_step(step: Step) -> Callable[[RotationProgram], object]:
    if isinstance(step, tuple):
        if not step or not isinstance(step[0], str):
            raise TypeError(f"a command tuple starts with the command's name, got {step!r}")
        name, *args = step
        kwargs: dict[str, Any] = {}
        if args and isinstance(args[-1], dict):
            kwargs = args.pop()
        return Command(name, tuple(args), kwargs)
    if callable(step):
        return step
    raise TypeError(f"a step is a function of the program or a command tuple, got {step!r}")


def given(program: RotationProgram, *steps: Step, actor: str = ACTOR) -> list[object]:
    """Drive a scenario: run each step, in order, acting as ``actor``.

    A step is a function taking the program (such as `small_company`, a `Command`
    from `command` or `plan`, or a lambda) or a command tuple (see `Step`). A step
    that passes ``actor=`` itself runs as that actor.

    Returns:
        What each step returned, in order (ids of the things planned, for example),
        so that later steps can name them:
        ``rotation, = given(program, plan("E1", "FIN"))``.
    """
    results: list[object] = []
    with program.acting_as(actor):
        for step in steps:
            results.append(_as_step(step)(program))
    return results


# ---------------------------------------------------------------- expectations


def failures_of(program: RotationProgram, consumer: str) -> list[Delivery]:
    """The failing (``retrying``) and ``parked`` events of one view or integration."""
    return program.consumers.store.failures(consumer)


def expect_view(program: RotationProgram, name: str, *args: Any, **kwargs: Any) -> Any:
    """Bring the views up to date, then return what view ``name`` answers.

    ``expect_view(program, "participation", "2027")`` returns
    ``program.views.participation("2027")``; a dotted name calls one of the view's
    ``query_*`` methods: ``"capacity.range"`` calls ``program.views.capacity.range``.

    Raises:
        AssertionError: The view parked an event, or is stuck on one it keeps
            failing, so its answer would be incomplete. The failures are listed.
        AttributeError: No view (or query) has that name; the known views are listed.
    """
    program.catch_up()
    view, _, query_name = name.partition(".")
    bound = getattr(program.views, view)
    position = program.consumers.store.position(view)
    stuck = [
        failure
        for failure in failures_of(program, view)
        if failure.status == "parked" or failure.position > position
    ]
    if stuck:
        listed = "; ".join(
            f"event {f.position} {f.status} after {f.attempts} attempt(s): {f.last_error}"
            for f in stuck
        )
        raise AssertionError(f"view {view!r} failed on events, so its answer is wrong: {listed}")
    query: Callable[..., Any] = getattr(bound, query_name) if query_name else bound
    return query(*args, **kwargs)


class DeliveryFailed(RuntimeError):
    """What a `RecordingIntegration` raises on the attempts it was told to fail."""


class RecordingIntegration:
    """An integration that records what it is given, and fails on purpose if asked.

    It is also a plugin (its ``rotation_integrations`` hook returns itself), so
    ``register_plugin(RecordingIntegration())`` is enough to have it delivered to.

    Attributes:
        name: The integration's (and the plugin's) name.
        topics: The topics it asks for (all events when empty).
        max_attempts: Deliveries tried before an event is parked.
        fail_times: How many of the first delivery attempts raise `DeliveryFailed`.
        attempts: Every delivery attempt, as ``(event name, idempotency key)``.
        received: The attempts that went through, in order.
    """

    def __init__(
        self,
        name: str = "recording",
        *,
        topics: Iterable[str] = (),
        max_attempts: int = 3,
        fail_times: int = 0,
    ) -> None:
        """Create it.

        Args:
            name: Its name (a consumer name: unique in a program).
            topics: Event names (``"RotationPlanned"``) or topics it asks for.
            max_attempts: Deliveries tried before an event is parked.
            fail_times: How many of the first delivery attempts fail.
        """
        self.name = name
        self.topics = frozenset(topic(each) for each in topics)
        self.max_attempts = max_attempts
        self.fail_times = fail_times
        self.attempts: list[tuple[str, str]] = []
        self.received: list[tuple[str, str]] = []

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        """Record the delivery, or raise `DeliveryFailed` if this attempt must fail."""
        self.attempts.append((envelope.name, idempotency_key))
        if len(self.attempts) <= self.fail_times:
            raise DeliveryFailed(
                f"{self.name} fails attempt {len(self.attempts)} of {self.fail_times} on purpose"
            )
        self.received.append((envelope.name, idempotency_key))

    @property
    def side_effects(self) -> list[str]:
        """The event names an idempotent receiver would act on: repeats of a key dropped."""
        seen: set[str] = set()
        names: list[str] = []
        for name, key in self.received:
            if key not in seen:
                seen.add(key)
                names.append(name)
        return names

    @hookimpl
    def rotation_integrations(self, settings: Mapping[str, str]) -> Sequence[Integration]:
        """Provide this integration (it is its own plugin)."""
        return [self]

    def __repr__(self) -> str:
        return f"RecordingIntegration({self.name!r}, received={self.received!r})"


def expect_side_effects(
    integration: RecordingIntegration,
    names: Sequence[str],
    *,
    program: RotationProgram | None = None,
) -> list[str]:
    """Check that the integration acted on exactly these events, in this order.

    Repeats of an idempotency key count once, as they would for a receiver that
    honours the keys (delivery is at least once).

    Args:
        integration: The recording integration.
        names: The expected event names, such as ``["RotationPlanned"]``.
        program: If given, it catches up first (for programs opened with
            ``inline=False``).

    Returns:
        The idempotency keys of the deliveries that went through, in order.

    Raises:
        AssertionError: The integration acted on other events, or in another order.
    """
    if program is not None:
        program.catch_up()
    if integration.side_effects != list(names):
        raise AssertionError(
            f"integration {integration.name!r} acted on {integration.side_effects}, "
            f"expected {list(names)} (attempts: {integration.attempts})"
        )
    return [key for _, key in integration.received]
