"""Fixtures the rule tests share: acting as the CIO, and checking a refusal records nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from rotation_domain import RotationDomainError, RotationProgram

Refused = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def cio(company: RotationProgram) -> Iterator[RotationProgram]:
    with company.acting_as("cio@example.com"):
        yield company


@pytest.fixture
def refused(company: RotationProgram, events_recorded: Callable[[RotationProgram], int]) -> Refused:
    @contextmanager
    def check(error: type[RotationDomainError], *words: str) -> Iterator[None]:
        before = events_recorded(company)
        with pytest.raises(error) as caught:
            yield
        assert type(caught.value) is error
        for word in words:
            assert word in str(caught.value)
        assert events_recorded(company) == before

    return check
