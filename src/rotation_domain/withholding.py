"""Which personal fields to decrypt for the views (ADR 0012).

A view may declare ``personal_fields``, the personal fields its ``apply`` reads; the
others reach it as `WITHHELD`, never decrypted. An event several views want is decoded
once, with the fields any of them declares; a view that does not declare the attribute
gets every field, and so does everyone sharing an event with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rotation_domain.consumers import View

__all__ = ["Opened", "declaration_problem", "opened_per_topic", "personal_fields_of"]

Opened = frozenset[str] | None
"""The personal fields to decrypt (None: all of them)."""


def declaration_problem(view: View) -> str | None:
    """Why a view's ``personal_fields`` is unusable (not a set of names), or None."""
    declared = getattr(view, "personal_fields", None)
    if declared is None or (
        isinstance(declared, set | frozenset) and all(isinstance(f, str) for f in declared)
    ):
        return None
    return (
        f"its view {view.name!r} gives personal_fields={declared!r}; it must be a set of"
        ' the personal field names the view reads, such as frozenset({"name"})'
    )


def personal_fields_of(view: View) -> Opened:
    """The personal fields a view declares it reads, or None when it does not say (all)."""
    declared = getattr(view, "personal_fields", None)
    return None if declared is None else frozenset(declared)


def opened_per_topic(views: Iterable[View]) -> tuple[dict[str, Opened], Opened]:
    """The fields to decrypt per topic some view asks for, and for any other topic.

    Any other topic reaches only the views that want every topic (an empty ``topics``):
    what those read.
    """
    views = list(views)
    other: Opened = frozenset()
    for view in views:
        if not view.topics:
            other = _union(other, personal_fields_of(view))
    opened: dict[str, Opened] = {}
    for view in views:
        declared = personal_fields_of(view)
        for wanted in view.topics:
            opened[wanted] = _union(opened.get(wanted, other), declared)
    return opened, other


def _union(a: Opened, b: Opened) -> Opened:
    return None if a is None or b is None else a | b
