"""The audit trail: timelines, the hash chain and its seals, and exports of the log.

The program's single ordered log is its audit trail. This module is the public face of
the modules that read it for people; import from here:

* **Timelines** (`TimelineEntry`, from `rotation_domain.audit_entries` and
  `rotation_domain.audit_timeline`): one aggregate's history, or the whole log filtered
  by actor, recorded time, employee, event type or position. They are streamed a page
  of `PAGE_SIZE` events at a time, so memory does not grow with the log. Their one-line
  summaries come from `rotation_domain.audit_summaries`.
* **Tamper evidence** (`rotation_domain.audit_chain_rules`): a store that keeps an audit
  chain (SQLite and PostgreSQL, see `adapters.audit_chain`) links every stored event to
  its predecessor by a SHA-256 hash over its stored bytes (`chain_hash`).
  `verify_chain` recomputes the chain and names the first position where it breaks; an
  `AuditSeal` (head position and hash, kept outside the store) also catches a log cut
  back after it was sealed.
* **Exports** (`rotation_domain.audit_export`) as JSON Lines or CSV, in a documented,
  versioned format (`EXPORT_FORMAT_VERSION`, `EXPORT_COLUMNS`; see docs/audit.md).
* **The program's queries** (`AuditQueries`, in `rotation_domain.audit_queries`), which
  `RotationProgram` mixes in.

The stores are reached through ports (`AuditChainStore`, `AggregateLog`) that the
recorders in ``adapters`` implement; the core never imports them.
"""

from __future__ import annotations

from rotation_domain.audit_chain_rules import (
    CHAIN_FORMAT,
    GENESIS_HASH,
    AuditChainStore,
    AuditSeal,
    AuditTrailBroken,
    AuditVerification,
    ChainRow,
    chain_hash,
    originator_text,
    verify_chain,
)
from rotation_domain.audit_entries import TimelineEntry, entry_of
from rotation_domain.audit_export import (
    EXPORT_COLUMNS,
    EXPORT_FORMAT_VERSION,
    TextSink,
    write_csv,
    write_jsonl,
)
from rotation_domain.audit_queries import AuditQueries
from rotation_domain.audit_summaries import SUMMARIES, summarise
from rotation_domain.audit_timeline import (
    PAGE_SIZE,
    AggregateLog,
    AuditFilter,
    aggregate_notifications,
    timeline,
)

__all__ = [
    "CHAIN_FORMAT",
    "EXPORT_COLUMNS",
    "EXPORT_FORMAT_VERSION",
    "GENESIS_HASH",
    "PAGE_SIZE",
    "SUMMARIES",
    "TextSink",
    "AggregateLog",
    "AuditChainStore",
    "AuditFilter",
    "AuditQueries",
    "AuditSeal",
    "AuditTrailBroken",
    "AuditVerification",
    "ChainRow",
    "TimelineEntry",
    "aggregate_notifications",
    "chain_hash",
    "entry_of",
    "originator_text",
    "summarise",
    "timeline",
    "verify_chain",
    "write_csv",
    "write_jsonl",
]
