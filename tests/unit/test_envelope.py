"""`Envelope`: an immutable named tuple made from five fields, the other two derived."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from uuid import UUID

import pytest

from rotation_domain.consumers import Envelope

ID = UUID("0f0e0d0c-0b0a-4908-8706-050403020100")


def envelope() -> Envelope:
    return Envelope(7, "rotation_domain:RotationPlanned", ID, 1, {"host": "FIN"})


def test_the_key_and_the_name_follow_from_the_given_fields() -> None:
    made = envelope()
    assert made.originator_key == str(ID)
    assert made.name == "RotationPlanned"
    with pytest.raises(AttributeError):
        made.position = 8  # type: ignore[misc]


@pytest.mark.parametrize(
    "again",
    [copy.copy, copy.deepcopy, lambda e: pickle.loads(pickle.dumps(e))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_an_envelope_survives_copy_and_pickle(again: Callable[[Envelope], Envelope]) -> None:
    made = envelope()
    back = again(made)
    assert type(back) is Envelope
    assert back == made


def test_replace_derives_the_key_and_the_name_again() -> None:
    other = UUID(int=1)
    changed = envelope()._replace(topic="rotation_domain:RotationCancelled", originator_id=other)
    assert (changed.name, changed.originator_key) == ("RotationCancelled", str(other))
    assert changed.position == 7
    with pytest.raises(ValueError, match="name"):
        envelope()._replace(name="Other")
