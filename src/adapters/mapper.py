"""An eventsourcing mapper that serialises domain events with cattrs and orjson.

Select it for an application with the environment setting
``MAPPER_TOPIC=adapters.mapper:CattrsMapper``. The configured compressor
(``COMPRESSOR_TOPIC``) and cipher (``CIPHER_TOPIC``, ``CIPHER_KEY``) are applied as
eventsourcing's own :class:`~eventsourcing.persistence.Mapper` applies them; the
transcoder that eventsourcing passes in is not used.

Stored state is the event's fields (except ``originator_id`` and
``originator_version``, which the stored event carries itself), unstructured by the
field annotations, plus ``class_version`` when the event class's ``class_version`` is
greater than 1, written by :func:`orjson.dumps` with sorted keys: the same event always
gives the same bytes.

Snapshots (:class:`~eventsourcing.domain.Snapshot` and other
:class:`~eventsourcing.domain.CanSnapshotAggregate` classes) keep the aggregate's
state untyped in memory; it is typed by the class-level annotations of the aggregate
class named by the snapshot's ``topic`` (``_created_on`` and ``_modified_on`` are
datetimes unless annotated otherwise). Attributes without an annotation are
unstructured by their runtime type and come back as plain JSON values.

Everything that depends only on a class (topic, field types, cattrs hooks, upcasters)
is worked out once per class and kept in a dict on the mapper.

Personal data (docs/privacy.md): when the application gives the mapper a key store
(`use_personal_keys`), each field an event class names in ``PERSONAL_FIELDS`` (and each
attribute an aggregate class names in ``PERSONAL_STATE``, in its snapshots) is stored
as an envelope ``{"$personal": 1, "subject": "<person's id>", "sealed": "<base64>"}``:
the field's JSON value encrypted with AES-256-GCM under the person's data key, a
random 96-bit nonce first, the aggregate id, version and field name as associated
data (so sealed values cannot be moved to another event or field). Reading an
envelope whose key was destroyed gives ``"[forgotten]"``; values stored before (plain
JSON) read as they are. This happens before compression and the at-rest cipher.
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final, Union, cast
from uuid import UUID

import attrs
import cattrs
import orjson
from cattrs.fns import identity
from eventsourcing.domain import CanSnapshotAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    find_id_convertor,
    str_to_uuid_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from adapters.converter import TEXT_PARSERS, make_converter
from adapters.personal_keys import PersonalKeys
from rotation_domain.personal_data import (
    FORGOTTEN,
    ORIGINATOR,
    WITHHELD,
    personal_fields,
    subject_id,
)

__all__ = ["CattrsMapper"]

_UnstructureHook = Callable[[Any], Any]
_StructureHook = Callable[[Any, Any], Any]
_TextParser = Callable[[str], Any]
_IdConvertor = Callable[[Any], Any]

_ID_FIELDS: Final = frozenset({"originator_id", "originator_version"})
"""Event fields that the stored event carries outside its state."""

_UNTYPED: Final[frozenset[Any]] = frozenset({Any, object, inspect.Parameter.empty})
"""Declared types that say nothing: unstructured by runtime type, not structured."""

_PASSTHROUGH_TYPES: Final[frozenset[Any]] = frozenset({str, int, bool, type(None), *_UNTYPED})
"""Types whose JSON value is already the Python value: nothing to structure."""

_BASE_AGGREGATE_STATE: Final[Mapping[str, Any]] = {
    "_created_on": datetime,
    "_modified_on": datetime,
}
"""Types of the state eventsourcing's aggregates keep without annotating it."""

_ORJSON_OPTIONS: Final = orjson.OPT_SORT_KEYS

_ENVELOPE: Final = "$personal"
"""The key that marks a sealed personal value in a stored state."""
_SEALED_SUBJECT: Final = re.compile(
    rb'"subject":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"'
)
"""The person's id in a sealed envelope, as it appears in a stored state's JSON."""
_NONCE_BYTES: Final = 12


class _EventCodec:
    """What the mapper needs to know about one domain event class."""

    __slots__ = (
        "class_version",
        "cls",
        "defaults",
        "field_names",
        "forgets",
        "is_snapshot",
        "personal",
        "str_id_convertor",
        "structure_steps",
        "subject",
        "topic",
        "unstructure_steps",
    )

    def __init__(
        self,
        *,
        cls: type[Any],
        topic: str,
        class_version: int,
        unstructure_steps: tuple[tuple[str, _UnstructureHook], ...],
        structure_steps: tuple[tuple[str, _StructureHook, Any, _TextParser | None], ...],
        field_names: frozenset[str],
        defaults: Mapping[str, Callable[[], Any]],
        str_id_convertor: _IdConvertor | None,
        is_snapshot: bool,
    ) -> None:
        self.cls = cls
        self.topic = topic
        self.class_version = class_version
        self.unstructure_steps = unstructure_steps
        self.structure_steps = structure_steps
        self.field_names = field_names
        self.defaults = defaults
        self.str_id_convertor = str_id_convertor
        self.is_snapshot = is_snapshot
        self.personal: tuple[str, ...] = personal_fields(cls)
        """The fields holding personal data (``PERSONAL_FIELDS``)."""
        self.subject: str | None = getattr(cls, "DATA_SUBJECT", None)
        """Whose they are: `ORIGINATOR`, a field naming an employee code, or None."""
        self.forgets = bool(getattr(cls, "FORGETS_DATA_SUBJECT", False))
        """Whether the event says its person is forgotten."""


class _StateCodec:
    """What the mapper needs to know about one snapshotted aggregate class."""

    __slots__ = (
        "class_version",
        "cls",
        "personal",
        "structure_steps",
        "subject",
        "unstructure_hooks",
    )

    def __init__(
        self,
        *,
        cls: type[Any],
        class_version: int,
        unstructure_hooks: Mapping[str, _UnstructureHook],
        structure_steps: Mapping[str, tuple[_StructureHook, Any]],
    ) -> None:
        self.cls = cls
        self.class_version = class_version
        self.unstructure_hooks = unstructure_hooks
        self.structure_steps = structure_steps
        self.personal: tuple[str, ...] = personal_fields(cls)
        self.subject: str | None = getattr(cls, "DATA_SUBJECT", None)


@attrs.define
class _SharedCodecs:
    """A converter and the codecs generated with it, shared by one mapper class."""

    converter: cattrs.Converter
    by_class: dict[type[Any], _EventCodec]
    by_topic: dict[str, _EventCodec]
    states: dict[str, _StateCodec]


class CattrsMapper(Mapper[UUID]):
    """Converts domain events to stored events and back with cattrs and orjson.

    Select it with ``MAPPER_TOPIC=adapters.mapper:CattrsMapper``. Field types
    supported out of the box are those of :func:`adapters.converter.make_converter`:
    JSON scalars, ``date``, ``datetime``, ``UUID``, enums, attrs classes,
    dataclasses, tuples, lists, sets, ``X | None`` and dicts with string, enum or
    UUID keys. Subclasses can override :meth:`make_converter` to register more hooks.

    Args:
        transcoder: Accepted for compatibility with eventsourcing's
            :class:`~eventsourcing.persistence.Mapper`; not used.
        compressor: Compresses the serialised state after encoding, if given.
        cipher: Encrypts the (compressed) serialised state, if given.

    """

    _shared: ClassVar[dict[type[Any], _SharedCodecs]] = {}

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        # The converter and the codecs it generates depend only on the mapper's class
        # (``make_converter`` takes no argument), so the instances of one class share
        # them: a program opened later in the process does not generate them again.
        # Compression and encryption stay per instance.
        shared = type(self)._shared.get(type(self))
        if shared is None:
            shared = _SharedCodecs(self.make_converter(), {}, {}, {})
            type(self)._shared[type(self)] = shared
        self.converter: cattrs.Converter = shared.converter
        self._codecs_by_class: dict[type[Any], _EventCodec] = shared.by_class
        self._codecs_by_topic: dict[str, _EventCodec] = shared.by_topic
        self._state_codecs: dict[str, _StateCodec] = shared.states
        self.personal_keys: PersonalKeys | None = None
        """The store of per-person data keys; without one, personal data is stored plain."""

    def use_personal_keys(self, keys: PersonalKeys) -> None:
        """Encrypt personal fields with the data keys of this store from now on.

        Args:
            keys: The key store (``adapters.personal_keys``).
        """
        self.personal_keys = keys

    def make_converter(self) -> cattrs.Converter:
        """Build the converter this mapper uses; called once, by the constructor.

        Returns:
            A new converter from :func:`adapters.converter.make_converter`.

        """
        return make_converter()

    def prefetch_keys(self, stored_events: Iterable[StoredEvent]) -> None:
        """Load in one query the keys of every person whose data these stored events seal.

        Called before a batch of events is decoded (an aggregate's history, a snapshot),
        so decoding them asks the key store nothing per person. Does nothing when the
        states are encrypted or compressed as a whole (the people cannot be seen then).
        """
        keys = self.personal_keys
        if keys is None or self.cipher or self.compressor:
            return
        subjects = {
            match.decode()
            for stored in stored_events
            for match in _SEALED_SUBJECT.findall(stored.state)
        }
        if subjects:
            keys.prefetch(subjects)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """Convert a domain event (or snapshot) to a stored event.

        Args:
            domain_event: The event to store.

        Returns:
            A stored event whose state is the sorted-key JSON of the event's fields,
            compressed and then encrypted when the mapper has a compressor or cipher.

        Raises:
            TypeError: If a field value cannot be serialised.

        """
        cls = type(domain_event)
        codec = self._codecs_by_class.get(cls)
        if codec is None:
            codec = self._codec_for_class(cls)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        for name, unstructure in codec.unstructure_steps:
            state[name] = unstructure(state[name])
        keys = self.personal_keys
        if keys is not None and (codec.personal or codec.subject):
            self._seal_fields(keys, codec, state, originator_id, originator_version)
        if codec.is_snapshot:
            state["state"] = self._unstructure_aggregate_state(state["topic"], state["state"])
            if keys is not None:
                self._seal_state(keys, state, originator_id, originator_version)
        if codec.class_version > 1:
            state["class_version"] = codec.class_version
        stored_state = orjson.dumps(state, option=_ORJSON_OPTIONS)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        if not (self.compressor or self.cipher):
            # orjson's bytes keep a buffer of about 4 KiB whatever their length; a store that
            # keeps stored events in memory (memory:) would hold that much per event.
            stored_state = memoryview(stored_state).tobytes()
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=codec.topic,
            state=stored_state,
        )

    def as_read_back(
        self, domain_event: DomainEventProtocol[UUID], opened: frozenset[str] | None
    ) -> DomainEventProtocol[UUID] | None:
        """The event this mapper just stored, as `to_domain_event_withholding` reads it back.

        Without the round trip: the personal fields not in ``opened`` read as `WITHHELD`
        in a copy, and the other fields are the event's own values, which the round trip
        gives back equal (the converter's structure and unstructure hooks are each other's
        inverse; tests/integration/test_read_back.py compares both for every event the
        consumer workload records). None when only the round trip can tell:
        the class was never stored by this mapper, the event is a snapshot or forgets a
        person, or a personal field would be opened (its key may be gone, so the stored
        value may be `FORGOTTEN`).
        """
        codec = self._codecs_by_class.get(type(domain_event))
        if codec is None or codec.is_snapshot or codec.forgets:
            return None
        personal = codec.personal
        if not personal:
            return domain_event
        if opened is None or not opened.isdisjoint(personal):
            return None
        state = dict(vars(domain_event))
        for name in personal:
            state[name] = WITHHELD
        copy = object.__new__(codec.cls)
        object.__setattr__(copy, "__dict__", state)
        return cast("DomainEventProtocol[UUID]", copy)

    def to_domain_event_withholding(
        self, stored_event: StoredEvent, opened: frozenset[str]
    ) -> DomainEventProtocol[UUID]:
        """The domain event, with only the personal fields named in ``opened`` decrypted.

        The others read as `WITHHELD` and are never decrypted: a consumer that does not
        need a person's notes does not get them, and does not pay for opening them.
        Otherwise as `to_domain_event`.
        """
        return self._to_domain_event(stored_event, opened)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Convert a stored event back to the domain event (or snapshot) it came from.

        Upcasts the stored state first when it was written by an older
        ``class_version`` of the event class, calling the class's
        ``upcast_vN_vN+1(state)`` static methods on the decoded JSON dict (which
        includes ``originator_id`` and ``originator_version``), as eventsourcing does.

        Args:
            stored_event: The stored event, as returned by a recorder (the
                originator id may be a UUID or its string form).

        Returns:
            The domain event, with every field of its annotated type.

        Raises:
            MapperDeserialisationError: If the topic does not resolve to a class, or
                the state cannot be decrypted, decompressed, decoded, upcast or
                structured. The message names the topic, originator id and version.

        """
        return self._to_domain_event(stored_event, None)

    def _to_domain_event(
        self, stored_event: StoredEvent, opened: frozenset[str] | None
    ) -> DomainEventProtocol[UUID]:
        topic = stored_event.topic
        codec = self._codecs_by_topic.get(topic)
        if codec is None:
            codec = self._codec_for_topic(stored_event)
        try:
            originator_id: Any = stored_event.originator_id
            if codec.str_id_convertor is not None and originator_id.__class__ is str:
                originator_id = codec.str_id_convertor(originator_id)
            stored_state = stored_event.state
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            state = orjson.loads(stored_state)
            if state.__class__ is not dict:
                msg = f"expected a JSON object, got {type(state).__name__}"
                raise TypeError(msg)
            if codec.personal or codec.subject:
                self._open_fields(
                    codec, state, originator_id, stored_event.originator_version, opened
                )
            state["originator_id"] = originator_id
            state["originator_version"] = stored_event.originator_version
            from_version = state.pop("class_version", 1)
            while from_version < codec.class_version:
                getattr(codec.cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            if not codec.field_names <= state.keys():
                self._add_missing_fields(codec, state)
            for name, structure, type_, parse in codec.structure_steps:
                value = state[name]
                if parse is not None and value.__class__ is str:
                    try:  # a date, a time or a UUID as text: parsed without the hook's call
                        state[name] = parse(value)
                        continue
                    except ValueError:
                        pass  # the hook raises it again, and the error names the field
                try:
                    state[name] = structure(value, type_)
                except Exception as error:
                    raise _FieldError(f"$.{name}", error) from error
            if codec.is_snapshot:
                state["state"] = self._structure_aggregate_state(
                    state["topic"],
                    state["state"],
                    aad=_aad_prefix(originator_id, stored_event.originator_version),
                )
        except Exception as error:
            raise _deserialisation_error(stored_event, error) from error
        domain_event = object.__new__(codec.cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast("DomainEventProtocol[UUID]", domain_event)

    # Per-class work, done once and cached.

    def _codec_for_topic(self, stored_event: StoredEvent) -> _EventCodec:
        try:
            cls = resolve_topic(stored_event.topic)
        except Exception as error:
            raise _deserialisation_error(stored_event, error, "unknown topic") from error
        if not isinstance(cls, type):
            msg = f"topic resolves to {cls!r}, not to a class"
            raise _deserialisation_error(stored_event, TypeError(msg))
        try:
            codec = self._codec_for_class(cls)
        except Exception as error:
            raise _deserialisation_error(stored_event, error) from error
        self._codecs_by_topic[stored_event.topic] = codec
        return codec

    def _codec_for_class(self, cls: type[Any]) -> _EventCodec:
        is_snapshot = issubclass(cls, CanSnapshotAggregate)
        hints = _type_hints(cls)
        fields: dict[str, dataclasses.Field[Any] | None]
        if dataclasses.is_dataclass(cls):
            fields = {field.name: field for field in dataclasses.fields(cls)}
        else:
            fields = {name: None for name, hint in hints.items() if not _is_class_var(hint)}
        unstructure_steps: list[tuple[str, _UnstructureHook]] = []
        structure_steps: list[tuple[str, _StructureHook, Any, _TextParser | None]] = []
        defaults: dict[str, Callable[[], Any]] = {}
        for name, field in fields.items():
            if name in _ID_FIELDS or (is_snapshot and name == "state"):
                continue
            type_ = hints.get(name, Any)
            unstructure = self._unstructure_hook(type_)
            if unstructure is not None:
                unstructure_steps.append((name, unstructure))
            structure = self._structure_hook(type_)
            if structure is not None:
                structure_steps.append((name, structure, type_, TEXT_PARSERS.get(structure)))
            if field is not None:
                default = _field_default(field)
                if default is not None:
                    defaults[name] = default
        codec = _EventCodec(
            cls=cls,
            topic=get_topic(cls),
            class_version=getattr(cls, "class_version", 1),
            unstructure_steps=tuple(unstructure_steps),
            structure_steps=tuple(structure_steps),
            field_names=frozenset(fields),
            defaults=defaults,
            str_id_convertor=_str_id_convertor(cls),
            is_snapshot=is_snapshot,
        )
        self._codecs_by_class[cls] = codec
        return codec

    def _state_codec(self, aggregate_topic: str) -> _StateCodec:
        codec = self._state_codecs.get(aggregate_topic)
        if codec is not None:
            return codec
        aggregate_cls = resolve_topic(aggregate_topic)
        hints = {**_BASE_AGGREGATE_STATE, **_type_hints(aggregate_cls)}
        unstructure_hooks: dict[str, _UnstructureHook] = {}
        structure_steps: dict[str, tuple[_StructureHook, Any]] = {}
        for name, type_ in hints.items():
            if _is_class_var(type_):
                continue
            unstructure_hooks[name] = self._unstructure_hook(type_) or identity
            structure = self._structure_hook(type_)
            if structure is not None:
                structure_steps[name] = (structure, type_)
        codec = _StateCodec(
            cls=aggregate_cls,
            class_version=getattr(aggregate_cls, "class_version", 1),
            unstructure_hooks=unstructure_hooks,
            structure_steps=structure_steps,
        )
        self._state_codecs[aggregate_topic] = codec
        return codec

    def _unstructure_hook(self, type_: Any) -> _UnstructureHook | None:
        """Return the hook for a declared type, or None when orjson takes it as it is."""
        if type_ in _UNTYPED:
            return self._unstructure_any
        if type_ in _PASSTHROUGH_TYPES:
            return None
        if _is_union(type_) and all(
            self._unstructure_hook(arg) is None for arg in typing.get_args(type_)
        ):
            return None
        hook = self.converter.get_unstructure_hook(type_)
        return None if hook is identity else hook

    def _structure_hook(self, type_: Any) -> _StructureHook | None:
        """Return the hook for a declared type, or None when JSON gives it as it is."""
        if type_ in _PASSTHROUGH_TYPES:
            return None
        if _is_union(type_) and all(arg in _PASSTHROUGH_TYPES for arg in typing.get_args(type_)):
            return None
        return self.converter.get_structure_hook(type_)

    def _unstructure_any(self, value: Any) -> Any:
        return self.converter.unstructure(value)

    # Snapshot state.

    def _unstructure_aggregate_state(self, aggregate_topic: str, state: Any) -> dict[str, Any]:
        hooks = self._state_codec(aggregate_topic).unstructure_hooks
        fallback = self._unstructure_any
        return {name: hooks.get(name, fallback)(value) for name, value in state.items()}

    def _structure_aggregate_state(
        self, aggregate_topic: str, state: Any, *, aad: bytes = b""
    ) -> dict[str, Any]:
        if state.__class__ is not dict:
            msg = f"expected the snapshot state to be a JSON object, got {type(state).__name__}"
            raise TypeError(msg)
        codec = self._state_codec(aggregate_topic)
        for name in codec.personal:
            value = state.get(name)
            if value.__class__ is dict and _ENVELOPE in value:
                state[name] = self._open(value, aad + b"state." + name.encode())
        # Upcast state written by an older version of the aggregate class here, on
        # the JSON values, so that it is typed by the annotations of the current
        # version. The state then carries the current class_version, as a snapshot
        # taken now would, and Snapshot.mutate() finds nothing left to upcast.
        from_version = state.get("class_version", 1)
        if from_version < codec.class_version:
            state.pop("class_version", None)
            while from_version < codec.class_version:
                getattr(codec.cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            state["class_version"] = codec.class_version
        steps = codec.structure_steps
        for name, value in state.items():
            step = steps.get(name)
            if step is not None:
                try:
                    state[name] = step[0](value, step[1])
                except Exception as error:
                    raise _FieldError(f"$.state.{name}", error) from error
        return state

    # Personal data.

    def _seal_fields(
        self,
        keys: PersonalKeys,
        codec: _EventCodec,
        state: dict[str, Any],
        originator_id: UUID,
        originator_version: int,
    ) -> None:
        """Replace the event's personal fields by envelopes sealed with its person's key."""
        spec = codec.subject
        if spec == ORIGINATOR:
            subject = originator_id
        elif spec:
            subject = subject_id(state[spec])
            if originator_version == 1:
                keys.learn_subject(originator_id, subject)
        else:
            found = keys.subject_of(originator_id)
            if found is None:
                msg = (
                    f"no person is recorded for aggregate {originator_id}, so the personal "
                    f"fields of {codec.cls.__qualname__} cannot be sealed"
                )
                raise ValueError(msg)
            subject = found
        if not codec.personal:
            return
        cipher = keys.cipher(subject, create=True)
        _seal_named(
            cipher, subject, _aad_prefix(originator_id, originator_version), state, codec.personal
        )

    def _seal_state(
        self, keys: PersonalKeys, snapshot: dict[str, Any], originator_id: UUID, version: int
    ) -> None:
        """Seal the personal attributes of a snapshot's aggregate state."""
        codec = self._state_codec(snapshot["topic"])
        if not codec.personal:
            return
        subject = originator_id if codec.subject == ORIGINATOR else keys.subject_of(originator_id)
        if subject is None:
            msg = f"no person is recorded for aggregate {originator_id}: cannot seal its snapshot"
            raise ValueError(msg)
        cipher = keys.cipher(subject, create=True)
        aad = _aad_prefix(originator_id, version) + b"state."
        _seal_named(cipher, subject, aad, snapshot["state"], codec.personal)

    def _open_fields(
        self,
        codec: _EventCodec,
        state: dict[str, Any],
        originator_id: Any,
        version: int,
        opened: frozenset[str] | None = None,
    ) -> None:
        """Open the envelopes of a stored state; learn or forget its person.

        With ``opened``, the personal fields not named in it read as `WITHHELD`, sealed
        or not, and only the others are opened.
        """
        keys = self.personal_keys
        spec = codec.subject
        if keys is not None and spec and spec != ORIGINATOR and version == 1:
            keys.learn_subject(originator_id, subject_id(state[spec]))
        if codec.personal:
            aad: bytes | None = None
            for name, value in state.items():
                sealed = value.__class__ is dict and _ENVELOPE in value
                if opened is not None and name not in opened:
                    if sealed or name in codec.personal:  # stored plain: withheld all the same
                        state[name] = WITHHELD
                    continue
                if sealed:
                    if aad is None:
                        aad = _aad_prefix(originator_id, version)
                    state[name] = self._open(value, aad + name.encode())
        if codec.forgets and keys is not None:
            subject = originator_id if spec == ORIGINATOR else keys.subject_of(originator_id)
            if subject is not None:
                keys.forget_cached(subject)

    def _open(self, envelope: dict[str, Any], aad: bytes) -> Any:
        """The value sealed in an envelope, or `FORGOTTEN` when its key is gone."""
        keys = self.personal_keys
        if keys is None:
            return FORGOTTEN
        cipher = keys.cipher_of(envelope["subject"])
        if cipher is None:
            return FORGOTTEN
        sealed = base64.b64decode(envelope["sealed"])
        plain = cipher.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)
        return orjson.loads(plain)

    @staticmethod
    def _add_missing_fields(codec: _EventCodec, state: dict[str, Any]) -> None:
        for name in codec.field_names - state.keys():
            default = codec.defaults.get(name)
            if default is None:
                msg = f"missing field '{name}' of {codec.cls.__qualname__}"
                raise ValueError(msg)
            state[name] = default()


class _FieldError(Exception):
    """A field of a stored state could not be structured into its declared type."""

    def __init__(self, path: str, error: Exception) -> None:
        super().__init__(path, error)
        self.path = path
        self.error = error


def _deserialisation_error(
    stored_event: StoredEvent, error: BaseException, reason: str | None = None
) -> MapperDeserialisationError:
    if isinstance(error, _FieldError):
        if isinstance(error.error, cattrs.BaseValidationError):
            detail = "; ".join(cattrs.transform_error(error.error, path=error.path))
        else:
            detail = f"{type(error.error).__name__} @ {error.path}: {error.error}"
    else:
        detail = f"{type(error).__name__}: {error}"
    return MapperDeserialisationError(
        f"Failed to deserialise state of stored event with "
        f"topic '{stored_event.topic}', "
        f"originator_id '{stored_event.originator_id}' and "
        f"originator_version {stored_event.originator_version}: "
        f"{reason + ': ' if reason else ''}{detail}"
    )


def _aad_prefix(originator_id: Any, version: int) -> bytes:
    """The start of a sealed value's associated data: its aggregate id and version."""
    hex_id = originator_id.hex if isinstance(originator_id, UUID) else UUID(originator_id).hex
    return f"{hex_id}:{version}:".encode()


def _seal_named(
    cipher: Any, subject: Any, aad: bytes, state: dict[str, Any], names: tuple[str, ...]
) -> None:
    """Seal the named values of ``state`` in place (the placeholder once forgotten)."""
    for name in names:
        value = state.get(name)
        if value is not None:
            state[name] = (
                FORGOTTEN if cipher is None else _seal(cipher, subject, aad + name.encode(), value)
            )


def _seal(cipher: Any, subject: UUID, aad: bytes, value: Any) -> dict[str, Any]:
    """An envelope holding a JSON value encrypted with a person's data key."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + cipher.encrypt(nonce, orjson.dumps(value), aad)
    return {_ENVELOPE: 1, "subject": str(subject), "sealed": base64.b64encode(sealed).decode()}


def _str_id_convertor(cls: type[Any]) -> _IdConvertor | None:
    """Return the function that turns a str originator id into the class's id type."""
    try:
        convertor = find_id_convertor(cast(Hashable, cls), cast(Hashable, str))
    except TypeError:
        return None
    return convertor if convertor is str_to_uuid_convertor else None


def _field_default(field: dataclasses.Field[Any]) -> Callable[[], Any] | None:
    if field.default is not dataclasses.MISSING:
        value = field.default
        return lambda: value
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory
    return None


def _is_union(type_: Any) -> bool:
    origin = typing.get_origin(type_)
    return origin is Union or origin is types.UnionType


def _is_class_var(type_: Any) -> bool:
    return type_ is ClassVar or typing.get_origin(type_) is ClassVar


def _type_hints(cls: type[Any]) -> dict[str, Any]:
    """Return the resolved class-level annotations of a class and its bases.

    Falls back to resolving annotations one by one when some cannot be resolved (for
    example names imported only for type checking); those are taken as ``Any``.
    """
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - any failure: resolve them one by one below
        pass
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        annotations = inspect.get_annotations(klass)
        localns = {**_enclosing_namespace(klass), **vars(klass)}
        for name, annotation in annotations.items():
            holder = type("_Holder", (), {"__annotations__": {name: annotation}})
            holder.__module__ = klass.__module__
            try:
                hints[name] = typing.get_type_hints(holder, localns=localns)[name]
            except Exception:  # noqa: BLE001 - unresolvable: treat as untyped
                hints[name] = Any
    return hints


def _enclosing_namespace(klass: type[Any]) -> dict[str, Any]:
    """Return the attributes of the classes a nested class is defined in."""
    namespace: dict[str, Any] = {}
    module = sys.modules.get(klass.__module__)
    owner: Any = module
    for part in klass.__qualname__.split(".")[:-1]:
        owner = getattr(owner, part, None)
        if not isinstance(owner, type):
            break
        namespace.update(vars(owner))
    return namespace
