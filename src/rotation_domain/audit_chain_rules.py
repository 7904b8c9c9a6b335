"""The audit chain's rule: how stored events are hashed, verified and sealed.

A store that keeps an audit chain (SQLite and PostgreSQL, see ``adapters.audit_chain``)
links every stored event to its predecessor by a SHA-256 hash over its stored bytes
(`chain_hash`). `verify_chain` recomputes the chain and names the first position where
it breaks; an `AuditSeal` (head position and hash, kept outside the store) also catches
a log cut back after it was sealed. `AuditChainStore` is the port the recorders in
``adapters`` implement.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Final, Protocol, runtime_checkable
from uuid import UUID

import attrs
import orjson

from rotation_domain.errors import InvalidInput, RotationDomainError

__all__ = [
    "CHAIN_FORMAT",
    "GENESIS_HASH",
    "AuditChainStore",
    "AuditSeal",
    "AuditTrailBroken",
    "AuditVerification",
    "ChainRow",
    "chain_hash",
    "originator_text",
    "verify_chain",
]

CHAIN_FORMAT: Final = b"rotation-domain/audit-chain/1"
"""Names the chain's hashing rule; a different rule would get another name."""

GENESIS_HASH: Final = hashlib.sha256(CHAIN_FORMAT).digest()
"""The "previous hash" of the first event of a log."""

_U32: Final = struct.Struct(">I")
_I64: Final = struct.Struct(">q")


def originator_text(originator_id: UUID | str) -> str:
    """The text of an aggregate id as the chain hashes it: 32 lowercase hex digits."""
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def chain_hash(
    previous: bytes, position: int, topic: str, originator_id: str, version: int, state: bytes
) -> bytes:
    """The chain hash of one stored event.

    SHA-256 over the previous event's chain hash (`GENESIS_HASH` for the first), then
    the event's position (8 bytes, big-endian), its topic, originator id (as
    `originator_text` gives it) and stored state (each prefixed with its length in 4
    bytes, big-endian), and its version (8 bytes) between the id and the state. The
    state is hashed as stored: compressed and encrypted when the store is, so a
    verifier needs no key.

    Args:
        previous: The previous event's chain hash (32 bytes).
        position: The event's position in the log (its notification id).
        topic: The stored event's topic.
        originator_id: The aggregate id, as `originator_text` gives it.
        version: The aggregate version the event made.
        state: The stored state bytes.

    Returns:
        The 32-byte digest.
    """
    topic_bytes = topic.encode()
    id_bytes = originator_id.encode()
    return hashlib.sha256(
        b"".join(
            (
                previous,
                _I64.pack(position),
                _U32.pack(len(topic_bytes)),
                topic_bytes,
                _U32.pack(len(id_bytes)),
                id_bytes,
                _I64.pack(version),
                _U32.pack(len(state)),
                state,
            )
        )
    ).digest()


ChainRow = tuple[int, str | None, str | None, int | None, bytes | None, bytes | None]
"""One position of a stored log: ``(position, topic, originator_id, version, state,
chain_hash)``. The four event columns are None when no event is stored at a position
that has a chain entry; the hash is None when an event has no chain entry."""


@runtime_checkable
class AuditChainStore(Protocol):
    """A recorder that keeps the audit chain (the port; ``adapters`` implements it)."""

    def audit_chain_head(self) -> tuple[int, bytes] | None:
        """The last chain entry's position and hash, or None while the chain is empty."""

    def audit_chain_rows(self, *, upto: int | None = None) -> Iterator[ChainRow]:
        """Every position that holds an event or a chain entry, in position order.

        Read a page at a time, up to and including ``upto`` (the head when None: the
        larger of the last event's and the last chain entry's position).
        """


@attrs.frozen
class AuditVerification:
    """The result of checking the audit chain.

    Attributes:
        ok: Whether every checked event matches its chain entry (and the seal, if one
            was given). False too when the store keeps no chain.
        checked: How many events were checked and found intact.
        head_position: The position of the last intact event (0 when none).
        head_hash: That event's chain hash, in hex (the genesis hash when none).
        broken_at: The first position where the chain breaks, or None.
        reason: Why it breaks there (empty when ``ok``).
        tamper_evident: Whether the store keeps an audit chain at all.
        seal_checked: Whether a seal was given and its position was found intact.
    """

    ok: bool
    checked: int
    head_position: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""
    tamper_evident: bool = True
    seal_checked: bool = False


@attrs.frozen
class AuditSeal:
    """The head of the audit chain at one moment, to keep outside the store.

    Checked later with ``program.verify_audit_trail(seal=...)``: the events up to
    ``position`` must still chain to ``hash``. That catches any change to them, and a
    log cut back to before ``position``, even by someone who rewrote the chain.

    Attributes:
        position: The last event's position when sealed.
        hash: Its chain hash, in hex.
        events: How many events were verified when sealing.
        sealed_at: When the seal was made (UTC).
        format_version: The seal document's format (1).
    """

    position: int
    hash: str
    events: int
    sealed_at: datetime
    format_version: int = 1

    def to_json(self) -> str:
        """The seal as a small JSON document (keep it somewhere the store cannot reach)."""
        return orjson.dumps(
            {
                "format": "rotation-domain/audit-seal",
                "format_version": self.format_version,
                "chain": CHAIN_FORMAT.decode(),
                "position": self.position,
                "hash": self.hash,
                "events": self.events,
                "sealed_at": self.sealed_at.isoformat(),
            },
            option=orjson.OPT_INDENT_2,
        ).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> AuditSeal:
        """Read a seal written by `to_json`.

        Raises:
            InvalidInput: the text is not a seal document of a known format.
        """
        try:
            doc = orjson.loads(text)
            if doc.get("format") != "rotation-domain/audit-seal" or doc["format_version"] != 1:
                raise ValueError("not a version-1 audit seal document")
            return cls(
                position=int(doc["position"]),
                hash=str(doc["hash"]),
                events=int(doc["events"]),
                sealed_at=datetime.fromisoformat(doc["sealed_at"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidInput(f"not an audit seal: {error}") from None


class AuditTrailBroken(RotationDomainError):
    """The audit chain does not verify, so the trail cannot be sealed."""


def verify_chain(rows: Iterable[ChainRow], seal: AuditSeal | None = None) -> AuditVerification:
    """Recompute the chain over stored rows and report the first position that breaks it.

    Args:
        rows: Every position holding an event or a chain entry, in order (as
            `AuditChainStore.audit_chain_rows` gives them).
        seal: A seal made earlier: its position must be reached with its hash.

    Returns:
        The verification; ``ok`` only when every row matches and the seal holds.
    """
    previous = GENESIS_HASH
    checked = head = 0
    seal_checked = False

    def broken(position: int, reason: str) -> AuditVerification:
        return AuditVerification(
            ok=False,
            checked=checked,
            head_position=head,
            head_hash=previous.hex(),
            broken_at=position,
            reason=reason,
            seal_checked=seal_checked,
        )

    for position, topic, originator_id, version, state, stored in rows:
        if seal is not None and not seal_checked and position > seal.position:
            return broken(
                seal.position,
                f"the sealed position {seal.position} holds no event any more",
            )
        if topic is None or originator_id is None or version is None or state is None:
            return broken(
                position, f"the event at position {position} was removed; its chain entry remains"
            )
        if stored is None:
            return broken(
                position,
                f"the event at position {position} has no chain entry: it was written "
                "around the recorder, or the chain was cut",
            )
        computed = chain_hash(previous, position, topic, originator_id, version, state)
        if computed != stored:
            return broken(
                position,
                f"the event at position {position} does not match its chain entry: its stored "
                "bytes were changed, it was moved, or an event before it was removed",
            )
        if seal is not None and position == seal.position:
            if computed.hex() != seal.hash:
                return broken(
                    position,
                    f"the log up to the sealed position {position} is not the one sealed: its "
                    f"chain hash is {computed.hex()}, the seal says {seal.hash}",
                )
            seal_checked = True
        previous, head = computed, position
        checked += 1
    if seal is not None and not seal_checked:
        return broken(
            seal.position,
            f"the log ends at position {head}, before the sealed position {seal.position}: "
            "events were removed after the seal",
        )
    return AuditVerification(
        ok=True,
        checked=checked,
        head_position=head,
        head_hash=previous.hex(),
        seal_checked=seal_checked,
    )
