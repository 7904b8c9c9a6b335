"""Store URLs to eventsourcing settings: ``memory:``, ``sqlite:///path``, ``postgresql://...``.

Every store gets the cattrs mapper and a personal data key store in the same database
(``PERSONAL_KEY_STORE_TOPIC``, docs/privacy.md). Encryption of the whole store at rest
is a setting given beside the URL: ``CIPHER_KEY`` (see `AT_REST_CIPHER_TOPIC`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "AT_REST_CIPHER_TOPIC",
    "MAPPER_TOPIC",
    "PERSONAL_KEY_STORE_TOPIC",
    "StoreURLError",
    "settings_for_url",
]

MAPPER_TOPIC = "adapters.mapper:CattrsMapper"
SQLITE_RECORDER_TOPIC = "adapters.audit_chain:ChainedSQLiteApplicationRecorder"
"""The polling SQLite recorder (``adapters.sqlite_subscription``), keeping the audit chain."""
POSTGRES_RECORDER_TOPIC = "adapters.audit_chain:ChainedPostgresApplicationRecorder"
"""eventsourcing's PostgreSQL recorder, keeping the audit chain."""
PERSONAL_KEY_STORE_TOPIC = "adapters.personal_keys:personal_key_store_for"
"""Per-person data keys in the events' own database (crypto-shredding)."""
AT_REST_CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
"""AES-GCM from the ``cryptography`` package: the cipher a ``CIPHER_KEY`` setting selects."""


class StoreURLError(ValueError):
    """The store URL is not one the library understands."""


def settings_for_url(url: str) -> dict[str, str]:
    """The eventsourcing environment that opens the store named by ``url``.

    Args:
        url: ``memory:``; ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``
            or ``sqlite:///:memory:``; or ``postgresql://user:password@host:port/dbname``
            with optional ``?schema=...&pool_size=...&max_overflow=...``.

    Raises:
        StoreURLError: the URL's scheme or shape is not understood.
    """
    settings = {"MAPPER_TOPIC": MAPPER_TOPIC, "PERSONAL_KEY_STORE_TOPIC": PERSONAL_KEY_STORE_TOPIC}
    if url in ("memory:", "memory://"):
        settings["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        return settings
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/") or path == "/":
            raise StoreURLError(
                f"a SQLite store URL looks like sqlite:///relative/file.db or "
                f"sqlite:////absolute/file.db, got {url!r}"
            )
        path = path[1:]
        settings.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=path,
            SQLITE_LOCK_TIMEOUT="10",
            APPLICATION_RECORDER_TOPIC=SQLITE_RECORDER_TOPIC,
        )
        return settings
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        if not parts.hostname or not parts.path.strip("/"):
            raise StoreURLError(
                f"a PostgreSQL store URL looks like postgresql://user@host:5432/dbname, got {url!r}"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        settings.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=unquote(parts.path.strip("/")),
            POSTGRES_HOST=parts.hostname,
            POSTGRES_PORT=str(parts.port or 5432),
            POSTGRES_USER=unquote(parts.username or "postgres"),
            POSTGRES_PASSWORD=unquote(parts.password or ""),
            POSTGRES_POOL_SIZE=query.get("pool_size", "2"),
            POSTGRES_MAX_OVERFLOW=query.get("max_overflow", "4"),
            APPLICATION_RECORDER_TOPIC=POSTGRES_RECORDER_TOPIC,
        )
        if "schema" in query:
            settings["POSTGRES_SCHEMA"] = query["schema"]
        return settings
    raise StoreURLError(
        f"unknown store URL {url!r}: use memory:, sqlite:///file.db or "
        "postgresql://user@host/dbname"
    )
