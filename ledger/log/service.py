"""The log: one transactional write path, and the reads a transparency log serves.

``Ledger.append`` is the only way an entry is written: validate the batch, lock
the log head in the database, settle idempotency, apply the business rules and
read models, assign ``seq``, chain, hash, insert entries and tree nodes, sign
the checkpoint, commit; all or nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from ledger.config import Settings
from ledger.errors import EventValidationError, IdempotencyConflict, InvalidRange, NotFound, Problem
from ledger.events.completion import as_sent, complete, resolve_locations, server_field_problems
from ledger.events.models import dump_event, parse_events
from ledger.log import tree
from ledger.log.signing import load_or_create_signer, sign_checkpoint
from ledger.projections.projector import BatchProjector
from ledger.projections.state import Applied
from ledger.storage.bulk import insert_rows, select_in
from ledger.storage.db import (
    WAL_BACKSTOP_PAGES,
    WalCheckpointer,
    is_sqlite,
    make_engine,
    read_transaction,
    write_transaction,
)
from ledger.storage.migrate import upgrade
from ledger.storage.schema import READ_MODEL_TABLES, Checkpoint, Entry, Head, leaf_key
from verifier.canonical import canonical_bytes, canonical_entry_bytes
from verifier.compact import CompactRange
from verifier.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash
from verifier.note import SignerKey, VerifierKey

MAX_BATCH = 10_000
# Subtree hashes kept in memory for proofs (``tree.NodeCache``): about 15 MiB, enough for
# the top of any tree, the newest entries, and the proofs of several thousand leaves.
NODE_CACHE_SIZE = 1 << 16
MAX_FUTURE = timedelta(minutes=10)
ZERO_HASH = bytes(HASH_SIZE)
ENTRY_COLUMNS = (
    "seq",
    "event_id",
    "leaf_hash",
    "leaf_bytes",
    "event_type",
    "recorded_at",
    "nodes",
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where one event landed: its seq and leaf hash; ``duplicate`` if sent before."""

    index: int
    event_id: str
    seq: int
    leaf_hash: bytes
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class AppendResult:
    receipts: list[Receipt]
    tree_size: int
    root_hash: bytes
    checkpoint: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    seq: int
    leaf_hash: bytes
    leaf_bytes: bytes

    def envelope(self) -> dict[str, Any]:
        return json.loads(self.leaf_bytes)  # type: ignore[no-any-return]


def rfc3339_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Ledger:
    """A ledger over one database and one signing key."""

    def __init__(self, engine: Engine, signer: SignerKey) -> None:
        self.engine = engine
        self.signer = signer
        self.node_cache = tree.NodeCache(NODE_CACHE_SIZE)
        #: The process's group-committing writer (``ledger.log.group_commit``), when a service
        #: runs one: ``append`` with no explicit time hands its batch there.
        self.writer: Callable[[Sequence[Any], str], AppendResult] | None = None
        #: The thread checkpointing a SQLite WAL, when ``open`` started one.
        self.checkpointer: WalCheckpointer | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        migrate: bool = True,
        background_checkpoints: bool = False,
        **engine_args: Any,
    ) -> Ledger:
        """Open (creating on first use) the database and signing key the settings name.

        ``background_checkpoints``: on a SQLite file, checkpoint its WAL on a thread of
        the ledger's own (``db.WalCheckpointer``) instead of in the commits of writers; the
        service's processes do. ``close`` stops it.
        """
        if settings.database_url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            if background_checkpoints:
                engine_args.setdefault("wal_autocheckpoint", WAL_BACKSTOP_PAGES)
        engine = make_engine(settings.database_url, **engine_args)
        if migrate:
            upgrade(engine)
        ledger = cls(engine, load_or_create_signer(settings))
        if background_checkpoints and WalCheckpointer.applies(engine):
            ledger.checkpointer = WalCheckpointer(engine)
            ledger.checkpointer.start()
        return ledger

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def verifier_key(self) -> VerifierKey:
        return self.signer.verifier_key()

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
            self.checkpointer = None
        self.engine.dispose()

    # -- the write path -------------------------------------------------------------

    def append(
        self,
        raw_events: Sequence[Any] | ValidatedBatch,
        *,
        actor: str,
        now: datetime | None = None,
    ) -> AppendResult:
        """Append a batch atomically; see the module docstring for the steps.

        When a service runs a group-committing writer (``self.writer``) and no time is
        given, the batch joins the writer's next group: a second writer here would wait
        for the database's write lock (on SQLite in a busy handler that sleeps up to
        100 ms at a time) while the group writer keeps taking it.
        """
        writer = self.writer
        if writer is not None and now is None and not isinstance(raw_events, ValidatedBatch):
            return writer(raw_events, actor)
        return self.append_many([(actor, raw_events)], now=now)[0]

    def append_many(
        self,
        requests: Sequence[tuple[str, Sequence[Any] | ValidatedBatch]],
        *,
        now: datetime | None = None,
    ) -> list[AppendResult]:
        """Group commit: several writers' batches in one transaction under one checkpoint.

        All or nothing across every request; receipts are per request, with indexes
        counted within it. ``ledger.log.group_commit`` calls this with the requests that
        queued while the previous commit ran, and falls back to one ``append`` per
        request when a group fails, so that one writer's bad batch fails only its own.
        A request's events are raw (validated here) or a ``ValidatedBatch`` that
        ``validate_batch`` made earlier, on another thread; either way the time check
        uses this append's clock.
        """
        moment = now or datetime.now(UTC)
        recorded_at = rfc3339_utc(moment)
        events: list[BaseModel] = []
        dumped: list[dict[str, Any]] = []
        actors: list[str] = []
        spans: list[tuple[int, int]] = []  # each request's slice of the flat batch
        for actor, raw_events in requests:
            valid = (
                raw_events if isinstance(raw_events, ValidatedBatch) else validate_batch(raw_events)
            )
            valid.check_times(moment)
            spans.append((len(events), len(events) + len(valid.events)))
            events += valid.events
            dumped += valid.dumped
            actors += [actor] * len(valid.events)

        with write_transaction(self.engine) as conn:
            head = _lock_head(conn)
            # GLNs become location ids first: a resend matches its original either way.
            resolve_locations(conn, events, dumped, range(len(events)))
            receipts = _settle_idempotency(conn, events, dumped)
            fresh = [i for i in range(len(events)) if i not in receipts]
            if not fresh:
                size, root_hash, note = self.latest_in(conn)
                return _results(spans, receipts, size, root_hash, note)
            # Master-data decisions go into the events themselves, before they are hashed.
            complete(conn, events, dumped, actors, fresh)
            size = head.tree_size
            batch = [
                Applied(i, size + n, actors[i], recorded_at, events[i]) for n, i in enumerate(fresh)
            ]
            projector = BatchProjector(conn)
            projector.apply_all(batch)

            compact = CompactRange(size, _split(head.frontier))
            prev = head.last_leaf_hash
            rows: list[tuple[Any, ...]] = []
            for item in batch:
                event = dumped[item.index]
                # Validated against schemas with no float fields: the type walk is not needed.
                data = canonical_entry_bytes(item.seq, prev.hex(), recorded_at, item.actor, event)
                h = leaf_hash(data)
                nodes = compact.append_hashes(h)
                rows.append(
                    (item.seq, event["event_id"], h, data, event["type"], recorded_at, nodes)
                )
                receipts[item.index] = Receipt(item.index, event["event_id"], item.seq, h)
                prev = h

            insert_rows(conn, "log_entries", ENTRY_COLUMNS, rows)
            projector.flush()
            root_hash = compact.root()
            note = sign_checkpoint(self.signer, compact.size, root_hash)
            conn.execute(
                _MOVE_HEAD,
                {"size": compact.size, "last": prev, "frontier": b"".join(compact.hashes)},
            )
            conn.execute(
                _ADD_CHECKPOINT,
                {"size": compact.size, "root": root_hash, "note": note, "at": recorded_at},
            )
        return _results(spans, receipts, compact.size, root_hash, note)

    def replay(self) -> None:
        """Rebuild every read model from the log, in one transaction."""
        with write_transaction(self.engine) as conn:
            for table in READ_MODEL_TABLES:
                conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            batch: list[Applied] = []
            for entry in _iter_entries(conn, 0, None):
                env = entry.envelope()
                (event,) = parse_events([env["event"]])
                batch.append(Applied(entry.seq, entry.seq, env["actor"], env["recorded_at"], event))
                if len(batch) == 2000:
                    _replay_batch(conn, batch)
                    batch = []
            if batch:
                _replay_batch(conn, batch)

    # -- reads ------------------------------------------------------------------------

    def size(self) -> int:
        with read_transaction(self.engine) as conn:
            return int(conn.execute(select(Head.tree_size).where(Head.id == 1)).scalar_one())

    def latest_checkpoint(self) -> tuple[int, bytes, str]:
        """(size, root, signed note) of the newest checkpoint; size 0 is signed on demand."""
        with read_transaction(self.engine) as conn:
            return self.latest_in(conn)

    def latest_in(self, conn: Connection) -> tuple[int, bytes, str]:
        """``latest_checkpoint`` inside the caller's transaction."""
        row = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note)
            .order_by(Checkpoint.tree_size.desc())
            .limit(1)
        ).first()
        if row is None:
            return 0, EMPTY_ROOT, sign_checkpoint(self.signer, 0, EMPTY_ROOT)
        return int(row[0]), bytes(row[1]), str(row[2])

    def checkpoint_at(self, size: int) -> str:
        with read_transaction(self.engine) as conn:
            note = conn.execute(
                select(Checkpoint.note).where(Checkpoint.tree_size == size)
            ).scalar_one_or_none()
        if note is None:
            raise NotFound(f"no checkpoint was signed at tree size {size}")
        return str(note)

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        """Entries [start, end) of the log, in order."""
        if not 0 <= start <= end:
            raise InvalidRange(f"bad range [{start}, {end})")
        with read_transaction(self.engine) as conn:
            return list(_iter_entries(conn, start, end))

    def iter_entries(self, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        """Stream entries without holding the log in memory."""
        with read_transaction(self.engine) as conn:
            yield from _iter_entries(conn, start, end)

    def index_of(self, leaf: bytes) -> int:
        with read_transaction(self.engine) as conn:
            seq = conn.execute(
                select(func.min(Entry.seq)).where(
                    leaf_key(Entry.leaf_hash) == leaf[:8], Entry.leaf_hash == leaf
                )
            ).scalar_one_or_none()
        if seq is None:
            raise NotFound(f"no entry has leaf hash {leaf.hex()}")
        return int(seq)

    def stored_event(self, event_id: str) -> dict[str, Any] | None:
        """The event logged under ``event_id``, as logged; None if there is none."""
        with read_transaction(self.engine) as conn:
            data = conn.execute(
                select(Entry.leaf_bytes).where(Entry.event_id == event_id)
            ).scalar_one_or_none()
        return None if data is None else json.loads(data)["event"]

    def root(self, size: int | None = None) -> bytes:
        with self.engine.connect() as conn:
            return tree.root(conn, _head_size(conn) if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""
        return self._resolve(tree.inclusion_plan(index, size), size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``size1`` to ``size2``."""
        return self._resolve(tree.consistency_plan(size1, size2), size2)

    def _resolve(self, spans: Sequence[tree.Span], size: int) -> list[bytes]:
        """The spans' hashes: nodes from the cache, the rest in one query (then cached)."""
        cache = self.node_cache
        nodes, missing = cache.get(tree.coords_of(spans))
        if missing or size > cache.known_size:
            owner_of, seqs = tree.owners_of(missing, size)
            with self._driver() as driver:
                fetched = tree.pick_nodes(owner_of, tree.fetch_rows(driver, seqs), size)
            # A statement of its own, outside any write transaction: committed rows only.
            cache.put(fetched, size)
            nodes.update(fetched)
        return tree.fold(spans, nodes)

    @contextmanager
    def _driver(self) -> Iterator[tree.Driver]:
        """A pooled DB-API connection for one statement, without SQLAlchemy's Connection."""
        raw = self.engine.raw_connection()
        try:
            yield tree.Driver(raw.driver_connection, self.engine.dialect.name == "postgresql")
        finally:
            raw.close()


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: never as values
class ValidatedBatch:
    """One request's events, schema-checked and dumped once; only the clock is left to check.

    ``validate_batch`` makes it from the raw events, on any thread and before the append
    (which then only checks the times against its own clock). The problems found without
    the clock (a repeated event id, a field only the ledger sets) are kept, not raised, so
    that ``check_times`` raises them together with any time in the future, in the order
    validation always gave. The lists are never changed: an append copies what it
    completes.
    """

    events: tuple[BaseModel, ...]
    #: Each event's ``model_dump``: exactly the ``event`` object of its log entry.
    dumped: tuple[dict[str, Any], ...]
    times: tuple[datetime, ...]
    latest: datetime
    #: Problems before any event's own (server fields), then each event's (repeated ids).
    server: tuple[Problem, ...]
    repeats: dict[int, Problem]

    def check_times(self, moment: datetime) -> None:
        """Raise every problem of the batch if it has any, or a time in the future."""
        if not self.server and not self.repeats and self.latest - moment <= MAX_FUTURE:
            return
        problems = list(self.server)
        for index, when in enumerate(self.times):
            if index in self.repeats:
                problems.append(self.repeats[index])
            if when - moment > MAX_FUTURE:
                event_time = self.events[index].event_time  # type: ignore[attr-defined]
                problems.append(Problem(index, "event_time", f"{event_time} is in the future"))
        if problems:
            raise EventValidationError(problems)


@lru_cache(maxsize=4096)
def _instant(event_time: str) -> datetime:
    """An RFC 3339 time the schema accepted, as a datetime (a batch's times mostly repeat)."""
    return datetime.fromisoformat(event_time.replace("Z", "+00:00"))


def validate_batch(raw_events: Sequence[Any]) -> ValidatedBatch:
    """One request's events, schema-checked; no repeated event id, no field only the ledger
    sets (``check_times`` raises those, and times in the future, at append time)."""
    if not raw_events:
        raise EventValidationError([Problem(0, "events", "the batch is empty")])
    if len(raw_events) > MAX_BATCH:
        raise EventValidationError(
            [Problem(MAX_BATCH, "events", f"a batch holds at most {MAX_BATCH} events")]
        )
    events = parse_events(list(raw_events))
    seen: dict[str, int] = {}
    repeats: dict[int, Problem] = {}
    times: list[datetime] = []
    for index, e in enumerate(events):
        event_id = e.event_id  # type: ignore[attr-defined]
        if event_id in seen:
            repeats[index] = Problem(
                index,
                "event_id",
                f"the batch repeats event_id {event_id} (event {seen[event_id]})",
            )
        seen[event_id] = index
        times.append(_instant(e.event_time))  # type: ignore[attr-defined]
    return ValidatedBatch(
        tuple(events),
        tuple([dump_event(e) for e in events]),
        tuple(times),
        max(times),
        tuple(server_field_problems(events)),
        repeats,
    )


def _results(
    spans: list[tuple[int, int]], receipts: dict[int, Receipt], size: int, root: bytes, note: str
) -> list[AppendResult]:
    """Per request: its receipts, indexed within the request, and the covering checkpoint."""
    out = []
    for start, end in spans:
        mine = [receipts[i] for i in range(start, end)]
        local = [dataclasses.replace(r, index=r.index - start) for r in mine] if start else mine
        out.append(AppendResult(local, size, root, note))
    return out


@dataclass(frozen=True, slots=True)
class _HeadState:
    tree_size: int
    last_leaf_hash: bytes
    frontier: bytes


# The write path's own statements, built once: building and keying a statement costs more
# than running it on a small group commit.
_READ_HEAD = select(Head.tree_size, Head.last_leaf_hash, Head.frontier).where(Head.id == 1)
_LOCK_HEAD = _READ_HEAD.with_for_update()
# Raw SQL for select_in: an expanding bind parameter costs more than the query on a batch.
_STORED_BY_ID = "SELECT event_id, seq, leaf_hash, leaf_bytes FROM log_entries WHERE event_id {keys}"
_MOVE_HEAD = (
    update(Head)
    .where(Head.id == 1)
    .values(
        tree_size=bindparam("size"),
        last_leaf_hash=bindparam("last"),
        frontier=bindparam("frontier"),
    )
)
_ADD_CHECKPOINT = insert(Checkpoint).values(
    tree_size=bindparam("size"),
    root_hash=bindparam("root"),
    note=bindparam("note"),
    created_at=bindparam("at"),
)


def _lock_head(conn: Connection) -> _HeadState:
    """Read the head under the database's write lock (FOR UPDATE; SQLite: BEGIN IMMEDIATE)."""
    row = conn.execute(_READ_HEAD if is_sqlite(conn) else _LOCK_HEAD).first()
    if row is None:
        raise NotFound("the log head is missing: run the migrations (lotledger init)")
    return _HeadState(int(row[0]), bytes(row[1]), bytes(row[2]))


def _settle_idempotency(
    conn: Connection, events: list[BaseModel], dumped: list[dict[str, Any]]
) -> dict[int, Receipt]:
    """Receipts for events already in the log; a conflict if one differs."""
    by_id = {d["event_id"]: i for i, d in enumerate(dumped)}
    found: dict[int, Receipt] = {}
    for event_id, seq, h, data in select_in(conn, _STORED_BY_ID, list(by_id)):
        index = by_id[event_id]
        stored = as_sent(json.loads(data)["event"], dumped[index])
        if canonical_bytes(stored) != canonical_bytes(dumped[index]):
            raise IdempotencyConflict(index, event_id, seq)
        found[index] = Receipt(index, event_id, int(seq), bytes(h), duplicate=True)
    return found


def _replay_batch(conn: Connection, batch: list[Applied]) -> None:
    # Replay applies each entry as its own batch position but flushes in chunks; who may
    # write what was settled when the entries were appended.
    projector = BatchProjector(conn, authorize=False)
    projector.apply_all(batch)
    projector.flush()


def _iter_entries(conn: Connection, start: int, end: int | None) -> Iterator[StoredEntry]:
    stmt = select(Entry.seq, Entry.leaf_hash, Entry.leaf_bytes).where(Entry.seq >= start)
    if end is not None:
        stmt = stmt.where(Entry.seq < end)
    result = conn.execute(stmt.order_by(Entry.seq), execution_options={"yield_per": 1000})
    for seq, h, data in result:
        yield StoredEntry(int(seq), bytes(h), bytes(data))


def _head_size(conn: Connection) -> int:
    return int(conn.execute(select(Head.tree_size).where(Head.id == 1)).scalar_one())


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i : i + HASH_SIZE] for i in range(0, len(frontier), HASH_SIZE)]
