"""SQLite through aiosqlite with one call to the connection's thread per statement.

aiosqlite runs each sqlite3 call on a thread of the connection's own, and every call is a round
trip: queued to the thread, then its result handed back through the event loop, where the
waiting step resumes only at the loop's next turn. SQLAlchemy's adapter makes three or four such
calls per statement (a cursor opened, the statement run, its rows fetched, the cursor closed),
so under load a step waited for a dozen turns of a busy loop, the writes among them while
holding SQLite's one writer. Here the whole statement runs in one call, on the same thread and
the same sqlite3 connection; everything else (connecting, isolation levels, commits, errors) is
SQLAlchemy's adapter as it is.

It leans on two internals, as SQLAlchemy's own adapter does (its isolation-level setter queues
work on aiosqlite's thread directly): aiosqlite's `Connection._execute` (the call to the thread)
and the cursor hooks of SQLAlchemy's asyncio connector. Both packages are pinned to the minor
versions this was written against (pyproject.toml); `tests/store/test_sqlite_round_trips.py`
counts the calls to the thread, and the whole store suite runs through this cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

Description = tuple[tuple[Any, ...], ...] | None
Ran = tuple[Description, list[Any], int, int | None]
"""What a statement left behind: its description, its rows, its row count, the last row id."""


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> Ran:
    """Run one statement to its end on the connection's thread (this runs there)."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and all, is one call to the connection's thread. It keeps
    no sqlite3 cursor open between calls: what the statement left is held here."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # there is no driver cursor left to close

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # not the adapter's __init__: it opens a driver cursor, itself a call to the thread
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._on_thread(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._on_thread(operation, seq_of_parameters, many=True)

    async def _on_thread(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = cast(aiosqlite.Connection, self._connection)
        call: Callable[..., Awaitable[Ran]] = connection._execute  # untyped in aiosqlite
        async with self._adapt_connection._execute_mutex:
            ran = await call(_run, connection, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = ran
        self._rows = collections.deque(rows)


class _OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneCallCursor


class OneCallDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module, handing out connections with `OneCallCursor`s; give it to
    `create_async_engine(..., module=OneCallDbapi())`."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _OneCallConnection:
        adapted = super().connect(*arg, **kw)
        return _OneCallConnection(self, adapted._connection)
