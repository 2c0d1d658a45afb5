"""The embedded adapter of the log: a file-backed SQLite database with Kafka's semantics.

Each topic has a fixed number of partitions; a keyed record goes to ``crc32(key) % n``, so
one talks' records keep their order, and offsets count from 0 in each partition. An append
returns once SQLite has committed it with ``synchronous=FULL`` in WAL mode: acknowledged
records survive a crash of the process or the machine. Readers in this process are woken by
each append; readers in other processes notice within ``poll_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import aiosqlite
import orjson

from services.common.eventlog.port import (
    Appended,
    Delivered,
    Headers,
    LogUnavailable,
    Outgoing,
    Positions,
    StoredPositions,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL CHECK (partitions > 0)
);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers BLOB NOT NULL,
    appended_at REAL NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_positions (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
"""


def partition_for(key: bytes | None, partitions: int, counter: int) -> int:
    """The key's partition; records without a key go round the partitions."""
    if key is None:
        return counter % partitions
    return zlib.crc32(key) % partitions


def _encode_headers(headers: Headers) -> bytes:
    return orjson.dumps([[k, v.decode("latin-1")] for k, v in headers])


def _decode_headers(stored: bytes) -> Headers:
    return tuple((k, v.encode("latin-1")) for k, v in orjson.loads(stored))


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, timeout=30, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA busy_timeout=30000")
    return conn


class EmbeddedLog:
    """The log in one SQLite file, shared by every part of the embedded process."""

    def __init__(self, path: Path | str, poll_s: float = 0.25) -> None:
        self.path = Path(path)
        self.poll_s = poll_s
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._appended = asyncio.Condition()
        self._round_robin = 0

    async def start(self) -> None:
        """Open the file (idempotent: a log shared in the process is started once)."""
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        await self._writer.executescript(SCHEMA)

    async def stop(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    def _require(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise LogUnavailable("the embedded log is not open")
        return self._writer

    async def ping(self) -> None:
        await (await self._require().execute("SELECT 1")).fetchall()

    async def ensure_topic(self, topic: str, partitions: int) -> None:
        async with self._write_lock:
            await self._require().execute(
                "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", (topic, partitions)
            )

    async def partitions(self, topic: str) -> list[int]:
        rows = list(
            await self._require().execute_fetchall(
                "SELECT partitions FROM topics WHERE name = ?", (topic,)
            )
        )
        return list(range(rows[0][0])) if rows else []

    async def end_offsets(self, topic: str) -> Positions:
        return await _end_offsets(self._require(), topic, await self.partitions(topic))

    async def append(self, topic: str, records: Sequence[Outgoing]) -> list[Appended]:
        if not records:
            return []
        conn = self._require()
        partitions = len(await self.partitions(topic))
        if not partitions:
            raise LogUnavailable(f"topic {topic!r} does not exist")
        now = time.time()
        async with self._write_lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                ends = await _end_offsets(conn, topic, range(partitions))
                rows, appended = [], []
                for record in records:
                    self._round_robin += 1
                    p = record.partition
                    if p is None or not 0 <= p < partitions:
                        p = partition_for(record.key, partitions, self._round_robin)
                    offset = ends[p]
                    ends[p] = offset + 1
                    headers = _encode_headers(record.headers)
                    rows.append((topic, p, offset, record.key, record.value, headers, now))
                    appended.append(Appended(p, offset))
                await conn.executemany(
                    'INSERT INTO records (topic, partition, "offset", key, value, headers,'
                    " appended_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                await conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise
        async with self._appended:
            self._appended.notify_all()
        return appended

    async def wait_for_append(self, timeout_s: float) -> None:
        """Return on the next append in this process, or after ``timeout_s``."""
        async with self._appended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._appended.wait(), timeout_s)

    async def consumer(
        self, topic: str, group: str, stored: StoredPositions, max_records: int
    ) -> EmbeddedConsumer:
        """The group's only member: it gets every partition, from the stored positions."""
        partitions = await self.partitions(topic)
        positions = await stored()
        start = {p: positions.get(p, 0) for p in partitions}
        return await EmbeddedConsumer.open(self, topic, start, group)

    async def reader(self, topic: str, start: Positions | None) -> EmbeddedConsumer:
        partitions = await self.partitions(topic)
        if start is None:
            begin = await self.end_offsets(topic)
        else:
            begin = {p: start.get(p, 0) for p in partitions}
        return await EmbeddedConsumer.open(self, topic, begin, None)


async def _end_offsets(
    conn: aiosqlite.Connection, topic: str, partitions: range | list[int]
) -> Positions:
    rows = await conn.execute_fetchall(
        'SELECT partition, MAX("offset") + 1 FROM records WHERE topic = ? GROUP BY partition',
        (topic,),
    )
    found = {int(p): int(end) for p, end in rows}
    return {p: found.get(p, 0) for p in partitions}


class EmbeddedConsumer:
    """Reads the partitions it was given, from its positions, in offset order."""

    def __init__(
        self,
        log: EmbeddedLog,
        conn: aiosqlite.Connection,
        topic: str,
        positions: Positions,
        group: str | None,
    ) -> None:
        self._log, self._conn, self._topic, self._group = log, conn, topic, group
        self._positions = dict(positions)
        self._ends: Positions = {}
        self._next = 0

    @classmethod
    async def open(
        cls, log: EmbeddedLog, topic: str, positions: Positions, group: str | None
    ) -> EmbeddedConsumer:
        conn = await _connect(log.path)
        return cls(log, conn, topic, positions, group)

    async def positions(self) -> Positions:
        """Where each partition will be read next."""
        return dict(self._positions)

    async def fetch(self, timeout_s: float, max_records: int) -> list[Delivered]:
        deadline = time.monotonic() + timeout_s
        while True:
            records = await self._read(max_records)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await self._log.wait_for_append(min(remaining, self._log.poll_s))

    async def _read(self, max_records: int) -> list[Delivered]:
        """Up to ``max_records``, taking partitions in turn so that none starves."""
        partitions = sorted(self._positions)
        if not partitions:
            return []
        self._ends = await _end_offsets(self._conn, self._topic, partitions)
        self._next = (self._next + 1) % len(partitions)
        records: list[Delivered] = []
        for p in partitions[self._next :] + partitions[: self._next]:
            room = max_records - len(records)
            if room <= 0:
                break
            if self._positions[p] >= self._ends[p]:
                continue
            rows = list(
                await self._conn.execute_fetchall(
                    'SELECT "offset", key, value, headers FROM records WHERE topic = ?'
                    ' AND partition = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?',
                    (self._topic, p, self._positions[p], room),
                )
            )
            for offset, key, value, headers in rows:
                records.append(Delivered(p, offset, value, _decode_headers(headers), key))
            if rows:
                self._positions[p] = rows[-1][0] + 1
        return records

    async def commit(self, positions: Positions) -> None:
        if self._group is None:
            return
        async with self._log._write_lock:
            await self._log._require().executemany(
                "INSERT INTO group_positions (group_id, topic, partition, next_offset)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition)"
                " DO UPDATE SET next_offset = excluded.next_offset",
                [(self._group, self._topic, p, o) for p, o in positions.items()],
            )

    def lag(self, partition: int, next_offset: int) -> int | None:
        end = self._ends.get(partition)
        return None if end is None else max(0, end - next_offset)

    async def close(self) -> None:
        await self._conn.close()
