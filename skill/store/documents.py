"""How the store keeps its JSON documents: compressed, and read back byte for byte.

Three kinds of document are kept per account and date: the input record
(`snapshots.record_json`), the assessment (`assessments.assessment_json`) and
the outbox's copy of an action (`actions.action_json`). The measurement event is
part of its assessment's document: the `measurement_events` view reads it from
there (`measurement_event`); only an event whose assessment was replaced under
another level or policy keeps a document of its own
(`measurement_events_replaced.event_json`). Stored as text they were most of a database
that grew 11-17 KB per account per date, although every account's documents
repeat the same keys, policy texts and evidence wording, and one account's
documents repeat themselves from one week to the next. So each is packed:

    0x00 <zstd frame>                         compressed on its own
    0x01 <dictionary id> <zstd frame>         compressed with a dictionary of its kind
    0x02 <base id> <zstd frame>               compressed against its account's base document
    0x03 <base id>                            identical to its account's base document
    0x04 <dictionary id> <zstd blocks>        a base: the start of a zstd stream (dictionary
                                              id 0: none), ending on a block boundary
    0x05 <base id> <zstd blocks>              the rest of its base's stream: this document

(ids are unsigned LEB128). 0x04 and 0x05 are how bases are written now: a later
document is compressed as the continuation of its base's stream, so zstd finds the
base in its window. That costs one compression of the base and one of the document
with a compressor that is reused (0x02 built a compressor per account around the
base as a raw dictionary: three times the time, for larger differences). 0x02 is
still read. Dictionaries are trained (zstd's trainer) from the
first batch that brings `TRAIN_FROM` documents of a kind, and again from a later
batch that packs much worse than the dictionary did on documents it had not seen
(a new policy's wording, say). Snapshots and assessments are stored as the
difference from a base: an earlier document of the same account, kept once in
`document_bases` (packed with the dictionary). An account's first document becomes
its base; a later one that differs from the base by more than `REBASE_SHARE` of
the base's size becomes the new base.

Dictionaries and bases are never changed: a packed value names the one it was
packed with, so every value decodes to exactly the text that was stored. Values
are replaced, never edited, and `db prune` deletes a base only when no value
names it any more. A value that is still text (written by code that does not
pack) reads as it is.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import orjson
import zstandard

KINDS = ("snapshot", "assessment", "event", "action")
#: Kinds stored as a difference from their account's base document.
BASED_KINDS = frozenset({"assessment"})
#: zstd level with a dictionary: zstd's default. Higher levels cost the write path
#: more time than they save bytes once a dictionary carries the shared wording.
LEVEL = 3
DICTIONARY_BYTES = 64 * 1024
#: Documents of a kind in one batch before a dictionary is trained from them.
TRAIN_FROM = 64
#: At most this many documents train a dictionary (more take longer, gain little).
TRAIN_AT_MOST = 500
#: A batch packed to more than this many times its dictionary's ratio trains a new one.
RETRAIN_FACTOR = 1.5
#: A difference larger than this share of its base's packed size makes a new base.
REBASE_SHARE = 0.75
#: Decoded base documents a reader keeps (an account's dates read one after another).
BASE_CACHE = 512

ALONE, WITH_DICTIONARY, AGAINST_BASE, SAME_AS_BASE = 0x00, 0x01, 0x02, 0x03
BASE_STREAM, CONTINUES_BASE = 0x04, 0x05
_FLUSH_BLOCK = zstandard.COMPRESSOBJ_FLUSH_BLOCK
_FLUSH_FINISH = zstandard.COMPRESSOBJ_FLUSH_FINISH


class DocumentError(ValueError):
    """A stored value that is not a packed document this store can read."""


class _Codec:
    """A compressor and decompressor for one dictionary (or none)."""

    def __init__(self, dictionary: bytes | None) -> None:
        if dictionary is None:
            self.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
            self.decompressor = zstandard.ZstdDecompressor()
            return
        data = zstandard.ZstdCompressionDict(dictionary)
        data.precompute_compress(level=LEVEL)
        self.compressor = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=data, write_checksum=False, write_dict_id=False
        )
        self.decompressor = zstandard.ZstdDecompressor(dict_data=data)


# zstd contexts are not safe to share between threads: each thread builds a
# dictionary's codec once and finds it again by the dictionary's digest.
_local = threading.local()


def _codec(digest: str, load: Callable[[], bytes | None]) -> _Codec:
    cache: dict[str, _Codec] | None = getattr(_local, "codecs", None)
    if cache is None:
        cache = _local.codecs = {}
    codec = cache.get(digest)
    if codec is None:
        codec = cache[digest] = _Codec(load())
    return codec


def _alone() -> _Codec:
    return _codec("", lambda: None)


def _raw(base: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def leb128(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _read_leb128(value: bytes, start: int) -> tuple[int, int]:
    number = shift = 0
    position = start
    while True:
        if position >= len(value):
            raise DocumentError("a packed document ends inside its dictionary or base id")
        byte = value[position]
        number |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return number, position
        shift += 7


def base_of(value: bytes | str | None) -> int | None:
    """The base document a packed value names, if any (for finding unused bases)."""
    if (
        isinstance(value, bytes)
        and value
        and value[0] in (AGAINST_BASE, SAME_AS_BASE, CONTINUES_BASE)
    ):
        return _read_leb128(value, 1)[0]
    return None


class _Base:
    """An account's base document as the writer needs it: stored and decoded."""

    __slots__ = ("base_id", "data", "packed_size", "value")

    def __init__(self, base_id: int, data: bytes, value: bytes) -> None:
        self.base_id = base_id
        self.data = data
        self.value = value  # as stored
        self.packed_size = len(value)


class Documents:
    """Packs and reads one history database's documents.

    Knows the database's dictionaries (read when first needed, and again when a
    value names one it has not seen) and keeps recently read base documents.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._digests: dict[int, str] = {}
        # kind -> (dictionary id, the packed values' prefix, digest, ratio)
        self._newest: dict[str, tuple[int, bytes, str, float]] = {}
        self._retrained: set[str] = set()
        self._loaded = False
        # base id -> (the base as stored, decoded)
        self._bases: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()

    # -- reading ------------------------------------------------------------------------

    def text(self, value: bytes | str | None) -> str | None:
        """The document exactly as it was stored (None stays None: not kept)."""
        if value is None or isinstance(value, str):
            return value
        return self._bytes(bytes(value)).decode("utf-8")

    def _bytes(self, value: bytes) -> bytes:
        if not value:
            raise DocumentError("an empty value is not a packed document")
        codec = value[0]
        try:
            if codec == WITH_DICTIONARY:
                dictionary_id, start = _read_leb128(value, 1)
                return self._dictionary_codec(dictionary_id).decompressor.decompress(value[start:])
            if codec == AGAINST_BASE:
                base_id, start = _read_leb128(value, 1)
                decompressor = zstandard.ZstdDecompressor(dict_data=_raw(self._base(base_id)))
                return decompressor.decompress(value[start:])
            if codec == SAME_AS_BASE:
                return self._base(_read_leb128(value, 1)[0])
            if codec == CONTINUES_BASE:
                base_id, start = _read_leb128(value, 1)
                stored = self._base_value(base_id)
                if stored[:1] != bytes([BASE_STREAM]):
                    raise DocumentError(f"base document {base_id} does not start a stream")
                dictionary_id, head = _read_leb128(stored, 1)
                stream = self._stream_codec(dictionary_id).decompressor.decompressobj()
                stream.decompress(stored[head:])
                return stream.decompress(value[start:])
            if codec == BASE_STREAM:
                dictionary_id, start = _read_leb128(value, 1)
                stream = self._stream_codec(dictionary_id).decompressor.decompressobj()
                return stream.decompress(value[start:])
            if codec == ALONE:
                return _alone().decompressor.decompress(value[1:])
        except zstandard.ZstdError as exc:
            raise DocumentError(f"a packed document does not decompress: {exc}") from None
        raise DocumentError(f"unknown document format {codec:#04x}")

    def _base(self, base_id: int) -> bytes:
        return self._base_entry(base_id)[1]

    def _base_value(self, base_id: int) -> bytes:
        return self._base_entry(base_id)[0]

    def _base_entry(self, base_id: int) -> tuple[bytes, bytes]:
        found = self._bases.get(base_id)
        if found is not None:
            self._bases.move_to_end(base_id)
            return found
        row = self.connection.execute(
            "SELECT document FROM document_bases WHERE base_id = ?", (base_id,)
        ).fetchone()
        if row is None:
            raise DocumentError(f"base document {base_id} is not in the database")
        value = bytes(row[0])
        return self._remember(base_id, value, self._bytes(value))

    def _remember(self, base_id: int, value: bytes, data: bytes) -> tuple[bytes, bytes]:
        entry = self._bases[base_id] = (value, data)
        if len(self._bases) > BASE_CACHE:
            self._bases.popitem(last=False)
        return entry

    def _stream_codec(self, dictionary_id: int) -> _Codec:
        return _alone() if dictionary_id == 0 else self._dictionary_codec(dictionary_id)

    def _dictionary_codec(self, dictionary_id: int) -> _Codec:
        digest = self._digests.get(dictionary_id)
        if digest is None:
            self.refresh()
            digest = self._digests.get(dictionary_id)
            if digest is None:
                raise DocumentError(f"document dictionary {dictionary_id} is not in the database")
        return _codec(digest, lambda: self._dictionary_bytes(dictionary_id))

    def _dictionary_bytes(self, dictionary_id: int) -> bytes:
        row = self.connection.execute(
            "SELECT dictionary FROM document_dictionaries WHERE dictionary_id = ?",
            (dictionary_id,),
        ).fetchone()
        return bytes(row[0])

    # -- writing ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the database's dictionaries again (another process may have trained one)."""
        for dictionary_id, kind, digest, ratio in self.connection.execute(
            "SELECT dictionary_id, kind, digest, ratio FROM document_dictionaries "
            "ORDER BY dictionary_id"
        ):
            self._digests[dictionary_id] = digest
            prefix = bytes([WITH_DICTIONARY]) + leb128(dictionary_id)
            self._newest[kind] = (dictionary_id, prefix, digest, float(ratio))
        self._loaded = True

    def pack(self, kind: str, text: str) -> bytes:
        """The document compressed with the newest dictionary of its kind (or alone)."""
        if not self._loaded:
            self.refresh()
        return self._pack_bytes(kind, text.encode("utf-8"))

    def _pack_bytes(self, kind: str, data: bytes) -> bytes:
        newest = self._newest.get(kind)
        if newest is None:
            return bytes([ALONE]) + _alone().compressor.compress(data)
        dictionary_id, prefix, digest, _ = newest
        codec = _codec(digest, lambda: self._dictionary_bytes(dictionary_id))
        return prefix + codec.compressor.compress(data)

    def pack_all(
        self, kind: str, texts: list[str], accounts: list[str] | None = None
    ) -> list[bytes]:
        """Pack a batch's documents of one kind (of these accounts: against their bases).

        Trains a dictionary first when one is due. Call inside the batch's write
        transaction, so two processes writing at once share one dictionary and
        one base per account.
        """
        self.refresh()
        if kind not in self._newest and len(texts) >= TRAIN_FROM:
            self.train(kind, texts)
        if accounts is not None and kind in BASED_KINDS:
            packed = list(self._against_bases(kind, accounts, texts))
        else:
            # The same text (an outbox copy: a few hundred distinct ones) is packed once.
            once = {t: self._pack_bytes(kind, t.encode("utf-8")) for t in dict.fromkeys(texts)}
            packed = [once[text] for text in texts]
            self._retrain_if_worse(kind, list(once), list(once.values()))
        return packed

    def _retrain_if_worse(self, kind: str, texts: list[str], packed: list[bytes]) -> None:
        newest = self._newest.get(kind)
        if newest is None or len(texts) < TRAIN_FROM or kind in self._retrained:
            return
        raw = sum(len(t) for t in texts)
        if raw and sum(len(p) for p in packed) / raw > RETRAIN_FACTOR * newest[3]:
            self._retrained.add(kind)  # at most once per kind per run
            self.train(kind, texts)  # for the batches after this one

    def _against_bases(self, kind: str, accounts: list[str], texts: list[str]) -> Iterator[bytes]:
        """Each document as its account's base, the same as it, or its base's stream
        continued (a new base when that is more than `REBASE_SHARE` of the base)."""
        bases = self._current_bases(kind, accounts)
        newest = self._newest.get(kind)
        if newest is None:
            codec, prefix = _alone(), bytes([BASE_STREAM, 0])
        else:
            dictionary_id, _, digest, _ = newest
            codec = _codec(digest, lambda: self._dictionary_bytes(dictionary_id))
            prefix = bytes([BASE_STREAM]) + leb128(dictionary_id)
        compressor = codec.compressor
        fresh: list[tuple[int, str, str, bytes]] = []
        fresh_packed: list[bytes] = []
        fresh_texts: list[str] = []
        next_id = self._next_base_id()
        for account_id, text in zip(accounts, texts, strict=True):
            data = text.encode("utf-8")
            base = bases.get(account_id)
            if base is not None:
                if data == base.data:
                    yield bytes([SAME_AS_BASE]) + leb128(base.base_id)
                    continue
                if base.value.startswith(prefix):
                    # The base's stream again (the same bytes, or zstd changed since:
                    # then a new base), then this document as its continuation.
                    stream = compressor.compressobj()
                    head = stream.compress(base.data) + stream.flush(_FLUSH_BLOCK)
                    if base.value[len(prefix) :] == head:
                        rest = stream.compress(data) + stream.flush(_FLUSH_FINISH)
                        if len(rest) <= REBASE_SHARE * base.packed_size:
                            yield bytes([CONTINUES_BASE]) + leb128(base.base_id) + rest
                            continue
            stream = compressor.compressobj()
            packed = prefix + stream.compress(data) + stream.flush(_FLUSH_BLOCK)
            fresh.append((next_id, kind, account_id, packed))
            fresh_packed.append(packed)
            fresh_texts.append(text)
            bases[account_id] = _Base(next_id, data, packed)
            self._remember(next_id, packed, data)
            yield bytes([SAME_AS_BASE]) + leb128(next_id)
            next_id += 1
        self.connection.executemany(
            "INSERT INTO document_bases (base_id, kind, account_id, document) VALUES (?, ?, ?, ?)",
            fresh,
        )
        self._retrain_if_worse(kind, fresh_texts, fresh_packed)

    def _next_base_id(self) -> int:
        """Past every id ever used (AUTOINCREMENT's record too): a reader that cached a
        base pruned since must never meet its id on another document."""
        row = self.connection.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence "
            "WHERE name = 'document_bases'), 0), COALESCE(MAX(base_id), 0)) FROM document_bases"
        ).fetchone()
        return int(row[0] or 0) + 1

    def _current_bases(self, kind: str, accounts: list[str]) -> dict[str, _Base]:
        """Each account's newest base document of this kind, decoded."""
        found: dict[str, _Base] = {}
        wanted = list(dict.fromkeys(accounts))
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for account_id, base_id, document in self.connection.execute(
                "SELECT b.account_id, b.base_id, b.document FROM document_bases AS b JOIN "
                "(SELECT MAX(base_id) AS base_id FROM document_bases "
                f"WHERE kind = ? AND account_id IN ({marks}) GROUP BY account_id) AS m "
                "USING (base_id)",
                (kind, *chunk),
            ):
                document = bytes(document)
                entry = self._bases.get(base_id) or self._remember(
                    base_id, document, self._bytes(document)
                )
                found[account_id] = _Base(base_id, entry[1], document)
        return found

    def train(self, kind: str, texts: Iterable[str]) -> int:
        """Train and store a new dictionary of `kind` from these documents; returns its id."""
        every = [t.encode("utf-8") for t in dict.fromkeys(texts)]
        # Every other document trains it, the rest measure it: a dictionary
        # measured on its own samples looks better than it will do.
        samples, held_out = every[0::2][:TRAIN_AT_MOST], every[1::2][:TRAIN_AT_MOST] or every
        total = sum(map(len, samples))
        if total <= DICTIONARY_BYTES:
            # Few and short (the outbox's label-and-evidence copies): their own
            # text is a better dictionary than one trained on so little.
            dictionary = b"".join(every)[-DICTIONARY_BYTES:]
        else:
            try:
                # Fixed cover parameters: as good on these documents as zstd's own
                # search over them (k=0, d=0), in a quarter of the time.
                dictionary = zstandard.train_dictionary(
                    min(DICTIONARY_BYTES, total // 8), samples, k=1024, d=8
                ).as_bytes()
            except zstandard.ZstdError:
                dictionary = b"".join(samples)[-DICTIONARY_BYTES:]
        digest = hashlib.sha256(dictionary).hexdigest()
        codec = _codec(digest, lambda: dictionary)
        raw = sum(map(len, held_out))
        packed = sum(len(codec.compressor.compress(s)) for s in held_out)
        cursor = self.connection.execute(
            "INSERT INTO document_dictionaries (kind, digest, samples, ratio, created_at, "
            "dictionary) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (
                kind,
                digest,
                len(samples),
                packed / raw if raw else 1.0,
                datetime.now(UTC).replace(microsecond=0).isoformat(),
                dictionary,
            ),
        )
        self.refresh()
        if cursor.rowcount == 0:
            row = self.connection.execute(
                "SELECT dictionary_id FROM document_dictionaries WHERE digest = ?", (digest,)
            ).fetchone()
            return int(row[0])
        return int(cursor.lastrowid or 0)


def measurement_event(assessment: str | None) -> str | None:
    """The measurement event inside an assessment document, as its own JSON text.

    Byte for byte what the event's model writes (compact JSON, fields in order): the
    assessment holds it written the same way, and orjson writes back what it read
    (strings, integers, lists and objects; an event holds no floats).
    """
    if assessment is None:
        return None
    return orjson.dumps(orjson.loads(assessment)["measurement_event"]).decode()


def event_id_of(event: str | None) -> str | None:
    """A measurement event's id (from its JSON text)."""
    return None if event is None else orjson.loads(event)["event_id"]


def documents(connection: sqlite3.Connection) -> Documents:
    """The connection's `Documents` (kept on connections `connect` opens; new otherwise)."""
    found = getattr(connection, "documents", None)
    return found if isinstance(found, Documents) else Documents(connection)
