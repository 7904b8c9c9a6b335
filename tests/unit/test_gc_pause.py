"""The collector pause of a page's fold: off inside, restored after, safe to nest."""

from __future__ import annotations

import gc
import threading

import pytest

from rotation_domain import gc_pause


@pytest.fixture(autouse=True)
def _collector_on() -> object:
    was = gc.isenabled()
    gc.enable()
    yield None
    if not was:
        gc.disable()


def _fail_inside() -> None:
    with gc_pause.paused():
        assert not gc.isenabled()
        raise RuntimeError


def test_off_inside_and_back_on_after_even_on_error() -> None:
    with pytest.raises(RuntimeError):
        _fail_inside()
    assert gc.isenabled()


def test_nested_blocks_turn_it_back_on_only_at_the_outermost_end() -> None:
    with gc_pause.paused():
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_host_turned_off_stays_off() -> None:
    gc.disable()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_blocks_in_threads_leave_it_on() -> None:
    inside = threading.Barrier(2)
    leave = threading.Event()

    def block() -> None:
        with gc_pause.paused():
            inside.wait(timeout=5)
            leave.wait(timeout=5)

    other = threading.Thread(target=block)
    other.start()
    with gc_pause.paused():
        inside.wait(timeout=5)
    assert not gc.isenabled()  # the other thread's block is still running
    leave.set()
    other.join(timeout=5)
    assert gc.isenabled()
