"""The chain's rule, checked without a database: what `verify_chain` accepts and refuses."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from rotation_domain import InvalidInput, RotationProgram
from rotation_domain.audit import (
    GENESIS_HASH,
    AuditSeal,
    AuditTrailBroken,
    ChainRow,
    chain_hash,
    verify_chain,
)


def chained(count: int) -> list[ChainRow]:
    rows: list[ChainRow] = []
    previous = GENESIS_HASH
    for position in range(1, count + 1):
        state = f'{{"n":{position}}}'.encode()
        previous = chain_hash(previous, position, "t", "ab" * 16, 1, state)
        rows.append((position, "t", "ab" * 16, 1, state, previous))
    return rows


def test_the_genesis_hash_names_the_chain_format() -> None:
    assert hashlib.sha256(b"rotation-domain/audit-chain/1").digest() == GENESIS_HASH


def test_the_hash_covers_every_stored_field() -> None:
    base = chain_hash(GENESIS_HASH, 1, "t", "id", 1, b"s")
    assert len(base) == 32
    for changed in (
        chain_hash(bytes(32), 1, "t", "id", 1, b"s"),
        chain_hash(GENESIS_HASH, 2, "t", "id", 1, b"s"),
        chain_hash(GENESIS_HASH, 1, "u", "id", 1, b"s"),
        chain_hash(GENESIS_HASH, 1, "t", "ie", 1, b"s"),
        chain_hash(GENESIS_HASH, 1, "t", "id", 2, b"s"),
        chain_hash(GENESIS_HASH, 1, "t", "id", 1, b"S"),
        chain_hash(GENESIS_HASH, 1, "ti", "d", 1, b"s"),  # fields are length-prefixed
    ):
        assert changed != base


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    rows = chained(5)
    result = verify_chain(rows)
    assert result.ok
    assert result.checked == 5
    assert result.head_position == 5
    assert result.head_hash == rows[-1][5].hex()  # type: ignore[union-attr]
    empty = verify_chain([])
    assert empty.ok
    assert (empty.checked, empty.head_position, empty.head_hash) == (0, 0, GENESIS_HASH.hex())


def test_gaps_in_positions_are_allowed_when_the_chain_links_them() -> None:
    previous = GENESIS_HASH
    rows: list[ChainRow] = []
    for position in (1, 2, 7, 8):  # PostgreSQL's sequence skips numbers of failed inserts
        previous = chain_hash(previous, position, "t", "x", 1, b"s")
        rows.append((position, "t", "x", 1, b"s", previous))
    assert verify_chain(rows).ok


def edited(rows: list[ChainRow]) -> None:
    rows[2] = (3, "t", "ab" * 16, 1, b"{}", rows[2][5])


def event_deleted(rows: list[ChainRow]) -> None:
    rows[2] = (3, None, None, None, None, rows[2][5])


def chain_entry_deleted(rows: list[ChainRow]) -> None:
    rows[2] = (*rows[2][:5], None)


def both_deleted(rows: list[ChainRow]) -> None:
    del rows[2]


def swapped(rows: list[ChainRow]) -> None:
    second, fourth = rows[1], rows[3]
    rows[1] = (2, *fourth[1:5], second[5])
    rows[3] = (4, *second[1:5], fourth[5])


@pytest.mark.parametrize(
    ("change", "broken_at", "checked", "words"),
    [
        (edited, 3, 2, "does not match"),
        (event_deleted, 3, 2, "was removed"),
        (chain_entry_deleted, 3, 2, "no chain entry"),
        (both_deleted, 4, 2, "does not match"),
        (swapped, 2, 1, "does not match"),
    ],
)
def test_a_change_is_reported_at_the_first_position_it_touches(
    change: Callable[[list[ChainRow]], None], broken_at: int, checked: int, words: str
) -> None:
    rows = chained(6)
    change(rows)
    result = verify_chain(rows)
    assert not result.ok
    assert result.broken_at == broken_at
    assert words in result.reason
    assert result.checked == checked


def test_a_seal_catches_a_cut_tail_and_a_rewritten_past() -> None:
    rows = chained(6)
    seal = AuditSeal(position=6, hash=rows[-1][5].hex(), events=6, sealed_at=datetime.now(UTC))  # type: ignore[union-attr]
    assert verify_chain(rows, seal).seal_checked
    cut = verify_chain(rows[:4], seal)
    assert (cut.ok, cut.broken_at) == (False, 6)
    assert "removed after the seal" in cut.reason
    other = chained(6)
    forged = [(p, t, o, v, b"forged", h) for p, t, o, v, _, h in other]
    previous = GENESIS_HASH
    rewritten: list[ChainRow] = []
    for p, t, o, v, s, _ in forged:
        assert t is not None
        assert o is not None
        assert v is not None
        assert s is not None
        previous = chain_hash(previous, p, t, o, v, s)
        rewritten.append((p, t, o, v, s, previous))
    assert verify_chain(rewritten).ok, "a rewritten chain is consistent in itself"
    result = verify_chain(rewritten, seal)
    assert (result.ok, result.broken_at) == (False, 6)
    assert "not the one sealed" in result.reason
    gone = [r for r in rows if r[0] != 6] + [(7, *rows[0][1:5], None)]
    assert verify_chain(gone, seal).broken_at == 6


def test_a_seal_document_round_trips_and_a_foreign_document_is_refused() -> None:
    seal = AuditSeal(position=3, hash="ab" * 32, events=3, sealed_at=datetime.now(UTC))
    assert AuditSeal.from_json(seal.to_json()) == seal
    with pytest.raises(InvalidInput, match="not an audit seal"):
        AuditSeal.from_json('{"format": "something else"}')
    with pytest.raises(InvalidInput):
        AuditSeal.from_json("not json")


def test_the_memory_store_says_it_has_no_tamper_evidence(company: RotationProgram) -> None:
    result = company.verify_audit_trail()
    assert not result.ok
    assert not result.tamper_evident
    assert "no tamper evidence" in result.reason
    assert result.head_position > 0
    with pytest.raises(AuditTrailBroken, match="cannot be sealed"):
        company.seal_audit_trail()
