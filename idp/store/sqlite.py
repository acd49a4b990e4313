"""SQLite made safe for several threads and processes writing at once.

pysqlite's own transaction handling begins a deferred transaction at the first write; a
request that reads (its journey) and then writes can then fail at once with "database is
locked" when another request wrote in between, and no busy timeout helps. So Gatehouse
begins every SQLite transaction with BEGIN IMMEDIATE, which waits (up to the busy
timeout) for the one writer SQLite allows, and uses write-ahead logging so readers
outside transactions are not blocked. PostgreSQL needs none of this.

With write-ahead logging, synchronous=NORMAL syncs the log at checkpoints rather than at
every commit (SQLite's own advice for WAL): the database can never be corrupted by a crash,
and what a power cut (not a process crash) can lose is the last transactions before it.
The sync at every commit was a fifth of a client_credentials grant's CPU
(docs/performance.md); deployments that cannot lose a token or a sign-up to a power cut
run PostgreSQL, whose commits are durable.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 30_000


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, issues BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
