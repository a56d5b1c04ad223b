"""Group commit: many writers' batches share one transaction, one fsync, one checkpoint.

A service answering single-event appends one transaction at a time pays a
lock, a handful of statements, a signature and a durable commit per event.
``GroupCommitter`` runs the writes of one process on one thread: whatever
requests queued while the previous commit ran go into the next one together
(``Ledger.append_many``). Nothing waits for a batch to fill: an idle ledger
commits a lone request at once, a busy one commits in larger groups.

A group is all or nothing, so when it fails (one writer's bad event, a
conflict) every request in it is retried alone with ``Ledger.append``: each
writer gets its own receipt or its own error, exactly as without grouping.

``submit`` validates the batch on the caller's thread (``ledger.log.service.validate_batch``: the
schema checks and the dump, about an eighth of an append's CPU), so that the writer thread
does only what needs the database: under concurrent requests, one request's validation
runs while the writer waits on SQLite (statements and the commit's fsync release the GIL).
A batch the schema refuses never joins a group; its future holds the error.

``attach`` makes the committer the ledger's writer (``Ledger.writer``): a plain
``Ledger.append`` elsewhere in the process (orders, recall confirmations, stock counts)
then joins the groups too, instead of waiting for the database's write lock, on
SQLite in a busy handler that sleeps up to 100 ms at a time, while this thread keeps
taking it. The service attaches its committer; ``close`` detaches it.

``submit`` hands back a ``concurrent.futures.Future`` instead of blocking, so that
an asyncio server awaits it (``asyncio.wrap_future``) without parking a thread of
its pool per waiting request; ``append`` is ``submit(...).result()``. A future
cancelled while still queued (its client went away) is dropped, never written; once
its group is taken it can no longer be cancelled, and its commit goes ahead.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ledger.log.service import MAX_BATCH, AppendResult, Ledger, ValidatedBatch, validate_batch


@dataclass(eq=False)
class _Pending:
    actor: str
    batch: ValidatedBatch
    future: Future[AppendResult] = field(default_factory=Future)


class GroupCommitter:
    """Serialises one process's appends on a writer thread, committing them in groups."""

    def __init__(self, ledger: Ledger, *, max_events: int = MAX_BATCH, max_requests: int = 500):
        self.ledger = ledger
        self.max_events = max_events
        self.max_requests = max_requests
        self._queue: deque[_Pending] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None  # started by the first append

    def append(self, raw_events: Sequence[Any], *, actor: str) -> AppendResult:
        """Append one writer's batch; blocks until it is committed (or refused)."""
        if threading.current_thread() is self._thread:  # never wait on our own queue
            return self.ledger.append_many([(actor, raw_events)])[0]
        return self.submit(raw_events, actor=actor).result()

    def attach(self) -> None:
        """Make this the ledger's writer: its plain ``append`` calls join the groups."""
        self.ledger.writer = self._append_for_ledger

    def _append_for_ledger(self, raw_events: Sequence[Any], actor: str) -> AppendResult:
        return self.append(raw_events, actor=actor)

    def submit(self, raw_events: Sequence[Any], *, actor: str) -> Future[AppendResult]:
        """Validate one writer's batch here, then queue it; the future holds its result or
        its error."""
        try:
            batch = validate_batch(raw_events)
        except Exception as exc:  # handed to the waiting writer, raised there
            failed: Future[AppendResult] = Future()
            failed.set_exception(exc)
            return failed
        pending = _Pending(actor, batch)
        with self._ready:
            if self._closed:
                raise RuntimeError("the ledger's writer has been closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lotledger-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.append(pending)
            self._ready.notify()
        return pending.future

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        if self.ledger.writer == self._append_for_ledger:  # detach, if still ours
            self.ledger.writer = None
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _take_group(self) -> list[_Pending] | None:
        with self._ready:
            while not self._queue:
                if self._closed:
                    return None
                self._ready.wait()
            group = [self._queue.popleft()]
            events = len(group[0].batch.events)
            while self._queue and len(group) < self.max_requests:
                if events + len(self._queue[0].batch.events) > self.max_events:
                    break
                nxt = self._queue.popleft()
                group.append(nxt)
                events += len(nxt.batch.events)
            return group

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            # From here on a future cannot be cancelled; those cancelled in the queue are
            # dropped (nobody waits for them, and nothing of theirs has been written).
            live = [p for p in group if p.future.set_running_or_notify_cancel()]
            if live:
                self._commit(live)

    def _commit(self, group: list[_Pending]) -> None:
        """Commit a group together, or, if that fails, each request alone."""
        if len(group) > 1 and self._commit_together(group):
            return
        # Alone: each writer gets its own receipt or its own error.
        for pending in group:
            try:
                result = self.ledger.append(pending.batch, actor=pending.actor)
            except BaseException as exc:  # handed to the waiting writer, raised there
                pending.future.set_exception(exc)
            else:
                pending.future.set_result(result)

    def _commit_together(self, group: list[_Pending]) -> bool:
        """One transaction for the whole group; False (nothing written) if any part fails."""
        try:
            results = self.ledger.append_many([(p.actor, p.batch) for p in group])
        except Exception:
            return False
        for pending, result in zip(group, results, strict=True):
            pending.future.set_result(result)
        return True
