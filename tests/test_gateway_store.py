"""The gateway's store: reads from memory, every change on disk through one writer thread, never on the caller's
thread (the event loop that relays every learner's stream)."""

from __future__ import annotations

import sqlite3

from helpers.gateway.store import MAX_VERDICTS, Limits, Store


def test_a_change_is_on_disk_once_its_future_is_done(tmp_path):
    store = Store(tmp_path / "g.sqlite")
    store.set_limits(Limits(tokens=1000)).result(10)
    store.started("ann", "01_text_stream.ipynb")
    store.spent("ann", 120).result(10)
    other = Store(tmp_path / "g.sqlite")  # a second reader of the file, the first still open: what a restart finds
    (ann,) = other.learners()
    assert (ann["name"], ann["tokens"], ann["requests"], ann["lesson"]) == ("ann", 120, 1, "01_text_stream.ipynb")
    assert other.budget_left("ann") == 880 and other.limits().tokens == 1000
    other.close()
    store.close()


def test_closing_writes_every_queued_change(tmp_path):
    store = Store(tmp_path / "g.sqlite")
    for _ in range(500):
        store.spent("ann", 2)  # nobody waits for these
    store.raise_budget("bo", 50)
    store.set_paused(True)
    store.close()
    again = Store(tmp_path / "g.sqlite")
    assert {r["name"]: r["tokens"] for r in again.learners()} == {"ann": 1000, "bo": 0}
    assert again.budget_left("bo") == Limits().tokens + 50 and again.paused()
    again.close()


def test_a_change_never_waits_for_the_disk(tmp_path):
    """Another connection holds the file locked (as a slow commit or a checkpoint would): the store's callers go on,
    with the change already seen in memory; it reaches the disk once the lock is released."""
    store = Store(tmp_path / "g.sqlite")
    store.started("ann", "").result(10)
    blocker = sqlite3.connect(tmp_path / "g.sqlite", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    written = store.spent("ann", 300)
    assert store.learners()[0]["tokens"] == 300 and store.budget_left("ann") == Limits().tokens - 300
    assert not written.done()  # still waiting on the lock, in the writer thread
    store.started("ann", "02_raw_events.ipynb")  # later changes queue behind it, in order
    blocker.execute("COMMIT")
    blocker.close()
    written.result(30)
    store.close()
    again = Store(tmp_path / "g.sqlite")
    assert (again.learners()[0]["tokens"], again.learners()[0]["lesson"]) == (300, "02_raw_events.ipynb")
    again.close()


def test_verdicts_keep_the_latest_per_learner_on_disk_as_in_memory(tmp_path):
    store = Store(tmp_path / "g.sqlite")
    for n in range(MAX_VERDICTS + 5):
        store.verdict("ann", "01", f"check{n}", "PASS")
    store.verdict("ann", "01", "check0", "NOT YET")  # check0 was dropped; now it is the latest
    store.close()
    again = Store(tmp_path / "g.sqlite")
    verdicts = again.learners()[0]["verdicts"]
    assert len(verdicts) == MAX_VERDICTS and verdicts[0]["exercise"] == "check0" and verdicts[0]["verdict"] == "NOT YET"
    assert {v["exercise"] for v in verdicts} == {"check0", *(f"check{n}" for n in range(6, MAX_VERDICTS + 5))}
    again.close()


def test_a_change_whose_waiter_went_away_is_written_and_the_writer_goes_on(tmp_path):
    """A stream's usage is awaited (asyncio.wrap_future) in its relay; a learner who hangs up cancels that await, which
    cancels the change's future. The writer then failed to set its result (InvalidStateError) and its thread ended:
    no later change reached the disk, so a restart lost the class's usage from then on."""
    store = Store(tmp_path / "g.sqlite")
    store.started("ann", "").result(10)
    blocker = sqlite3.connect(tmp_path / "g.sqlite", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the writer waits here, so the next change's future is still pending
    abandoned = store.spent("ann", 300)
    assert abandoned.cancel()  # what cancelling asyncio.wrap_future(abandoned) does
    blocker.execute("COMMIT")
    blocker.close()
    store.spent("ann", 20).result(30)  # the writer is still there
    store.close()
    again = Store(tmp_path / "g.sqlite")
    assert again.learners()[0]["tokens"] == 320  # the abandoned change was written too
    again.close()
