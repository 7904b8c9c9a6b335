"""The PostgreSQL function that inserts events and chains them, in one statement.

`ChainedPostgresApplicationRecorder` used to insert the events, wait for their positions
(a round trip in the middle of the transaction), hash them in Python and insert the
chain entries. The function below does the same work inside the server, in the
statement that inserts the events, after taking the table lock and sending the
``NOTIFY`` itself: the save then sends ``BEGIN``, the call and ``COMMIT`` in one
pipeline, and waits once, as a save without a chain does.

The function hashes exactly as `rotation_domain.audit.chain_hash` does (SHA-256 over
the previous hash, the position and version as 8 big-endian bytes, the topic, the
originator id as `originator_text` gives it and the stored state, each prefixed with
its length as 4 big-endian bytes); the chain is verified in Python, so any difference
would show at the first verification. It refuses, recording nothing:

- with SQLSTATE `HEAD_MOVED`, when the log's head is not the ``expected`` position the
  caller gave (``rotation_domain.log_head``); the message is the head's position;
- with SQLSTATE `CHAIN_AHEAD`, when the chain already holds an entry at or past a new
  event's position; the message is ``"<chain head>,<new position>"``.

The recorder turns those into `HeadMoved` and `AuditChainError` with the messages the
Python checks give.
"""

from __future__ import annotations

from typing import Final

from psycopg.sql import SQL, Composed, Identifier, Literal

from rotation_domain.audit import GENESIS_HASH

__all__ = [
    "CHAIN_AHEAD",
    "HEAD_MOVED",
    "call_insert_function",
    "create_insert_function",
    "insert_function_name",
]

HEAD_MOVED: Final = "RD001"
"""SQLSTATE of the function's refusal when the log's head is not the expected one."""
CHAIN_AHEAD: Final = "RD002"
"""SQLSTATE of the function's refusal when the chain runs past a new event's position."""

_BODY = """
DECLARE
  head_position bigint;
  previous bytea;
  inserted record;
BEGIN
  PERFORM set_config('lock_timeout', lock_timeout, true);
  LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;
  NOTIFY {channel};
  SELECT c.position, c.hash INTO head_position, previous
    FROM {schema}.{chain} c ORDER BY c.position DESC LIMIT 1;
  head_position := COALESCE(head_position, 0);
  IF expected IS NOT NULL AND head_position <> expected THEN
    RAISE EXCEPTION USING ERRCODE = {head_moved}, MESSAGE = head_position::text;
  END IF;
  previous := COALESCE(previous, {genesis}::bytea);
  FOR inserted IN
    WITH rows AS (
      INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state)
      SELECT originator_id, originator_version, topic, state FROM unnest(new_events)
      RETURNING notification_id, originator_id, originator_version, topic, state
    )
    SELECT * FROM rows ORDER BY notification_id
  LOOP
    IF inserted.notification_id <= head_position THEN
      RAISE EXCEPTION USING ERRCODE = {chain_ahead},
        MESSAGE = head_position::text || ',' || inserted.notification_id::text;
    END IF;
    previous := sha256(
      previous
      || int8send(inserted.notification_id)
      || int4send(octet_length(convert_to(inserted.topic, 'UTF8')))
      || convert_to(inserted.topic, 'UTF8')
      || int4send(octet_length(convert_to({originator_text}, 'UTF8')))
      || convert_to({originator_text}, 'UTF8')
      || int8send(inserted.originator_version::bigint)
      || int4send(octet_length(inserted.state))
      || inserted.state
    );
    INSERT INTO {schema}.{chain} (position, hash) VALUES (inserted.notification_id, previous);
    RETURN NEXT inserted.notification_id;
  END LOOP;
END
"""


def insert_function_name(events_table_name: str) -> str:
    """The function's name for an events table (``<table>_insert``)."""
    return f"{events_table_name}_insert"


def create_insert_function(
    *,
    schema: str,
    events_table: str,
    chain_table: str,
    stored_event_type: str,
    originator_id_type: str,
    channel: str,
) -> Composed:
    """The ``CREATE OR REPLACE FUNCTION`` statement for one events table.

    The function sets the transaction's ``lock_timeout`` (its third argument, such as
    ``'5s'``), takes the table's ``EXCLUSIVE`` lock, as eventsourcing's recorder does
    before inserting, and sends the ``NOTIFY`` on ``channel`` that wakes the store's
    listeners; a save's pipeline is then ``BEGIN``, this one call and ``COMMIT``.

    ``originator_id_type`` is the datastore's (``uuid`` or ``text``): a uuid id is
    hashed as its 32 hex digits, a text id as it is stored, as `originator_text` does.
    """
    originator_text = (
        "replace(inserted.originator_id::text, '-', '')"
        if originator_id_type == "uuid"
        else "inserted.originator_id::text"
    )
    body = SQL(_BODY).format(
        schema=Identifier(schema),
        chain=Identifier(chain_table),
        events=Identifier(events_table),
        head_moved=Literal(HEAD_MOVED),
        chain_ahead=Literal(CHAIN_AHEAD),
        genesis=Literal("\\x" + GENESIS_HASH.hex()),
        originator_text=SQL(originator_text),
        channel=Identifier(channel),
    )
    return SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{function}"
        "(new_events {schema}.{type}[], expected bigint, lock_timeout text) "
        "RETURNS SETOF bigint LANGUAGE plpgsql AS {body}"
    ).format(
        schema=Identifier(schema),
        function=Identifier(insert_function_name(events_table)),
        type=Identifier(stored_event_type),
        body=Literal(body.as_string(None)),
    )


def call_insert_function(*, schema: str, events_table: str, stored_event_type: str) -> Composed:
    """The statement that calls the function with (events, expected head or NULL, lock timeout).

    The events go in binary (``%b``): psycopg dumps the array of composites as text
    otherwise, escaping every field (the stored state's bytes included) with regular
    expressions, about 13 us an event against 3 us, and the server parses that text back.
    """
    return SQL("SELECT * FROM {schema}.{function}(%b::{schema}.{type}[], %s, %s)").format(
        schema=Identifier(schema),
        function=Identifier(insert_function_name(events_table)),
        type=Identifier(stored_event_type),
    )
