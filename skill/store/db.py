"""The embedded history database: SQLite in WAL mode with versioned migrations.

Migrations are the numbered `migrations/NNNN_*.sql` files, applied in order,
each in its own transaction and recorded in `schema_migrations`. A migration
that needs Python (one that rewrites stored documents) is a `NNNN_*.py` module
with an `upgrade(connection)` function instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_ENV = "ACCOUNT_HEALTH_DB"
_NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.(sql|py)$")
_SQLITE_NOTADB = 26  # SQLite's result code for a file that is not a database


class DatabaseUnavailable(ValueError):
    """The history database path is missing, a directory, or not a history database.

    Its message is one line naming the path, for the CLI (exit 2) and the MCP tools.
    """


def how_to_create(path: Path) -> str:
    return f"create one with `account-health run FILE --db {path}`"


def check_path(path: Path, *, must_exist: bool) -> None:
    """Refuse a path that cannot be a history database before SQLite touches it.

    SQLite opens a directory without complaint and fails later with a
    traceback-shaped error, or creates a new empty database where a reading
    command expected history; this says what is wrong instead. It looks at the
    path only (`stat`), never opens the file: closing any descriptor of a file
    drops every POSIX lock the process holds on it, an open connection's too, and
    another process may then take itself for the database's last user and delete
    the write-ahead log with this process's newest commits in it. A file that is
    not SQLite is found by SQLite itself (`unusable`).
    """
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is not a usable history database: it is a directory")
    if not path.exists():
        if must_exist:
            raise DatabaseUnavailable(f"no history database at {path}; {how_to_create(path)}")
        return
    if not path.is_file():
        raise DatabaseUnavailable(f"{path} is not a usable history database: not a regular file")
    if not os.access(path, os.R_OK):
        raise DatabaseUnavailable(f"{path} cannot be read: permission denied")
    if must_exist and path.stat().st_size == 0:
        # An empty file is where `run` may start a database; a reader finds nothing.
        raise DatabaseUnavailable(f"{path} is not a usable history database: the file is empty")


def unusable(path: Path, error: sqlite3.DatabaseError) -> str:
    """Why SQLite could not use `path` as a database, in one line naming it."""
    if getattr(error, "sqlite_errorcode", None) == _SQLITE_NOTADB:
        return f"{path} is not a usable history database: not a SQLite file"
    return f"{path} is not a usable history database: {error}"


def default_db_path() -> Path:
    """`$ACCOUNT_HEALTH_DB`, else the user's data directory (XDG on Linux)."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "account-health" / "history.sqlite3"


def now_utc() -> str:
    """Wall-clock time for audit columns; the engine's decisions never read it."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def migrations() -> list[tuple[int, Path]]:
    found = []
    for path in sorted([*MIGRATIONS.glob("*.sql"), *MIGRATIONS.glob("*.py")]):
        match = _NUMBERED.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file {path.name} is not named NNNN_name.sql or .py")
        found.append((int(match.group(1)), path))
    return sorted(found)


class HistoryConnection(sqlite3.Connection):
    """A connection `connect` opened: it keeps the database's document codecs.

    `document(value)` in its SQL reads a packed document column as its JSON
    text (see skill/store/documents.py); `measurement_event(assessment_json)`
    and `measurement_event_id(assessment_json)` read the event inside an
    assessment's (the `measurement_events` view).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        from skill.store.documents import Documents, event_id_of, measurement_event

        self.documents = Documents(self)
        text = self.documents.text
        self.create_function("document", 1, text, deterministic=True)
        # The `measurement_events` view reads each event from its assessment's document.
        self.create_function(
            "measurement_event", 1, lambda v: measurement_event(text(v)), deterministic=True
        )
        self.create_function(
            "measurement_event_id",
            1,
            lambda v: event_id_of(measurement_event(text(v))),
            deterministic=True,
        )


def connect(path: Path | str | None = None, *, create: bool = True) -> sqlite3.Connection:
    """Open and migrate the history database.

    `create=False` (every command but `run` and `outcomes import`): a missing
    database is refused, never started empty. Either way a directory, a file
    that is not SQLite, or a SQLite database of something else raises
    `DatabaseUnavailable`.
    """
    path = Path(path) if path is not None else default_db_path()
    check_path(path, must_exist=not create)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=30.0, isolation_level=None, factory=HistoryConnection
    )
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        listed = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in listed}
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise DatabaseUnavailable(unusable(path, exc)) from None
    try:
        if tables and "schema_migrations" not in tables:
            raise DatabaseUnavailable(
                f"{path} is not a usable history database: a SQLite file of something else"
            )
        migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def migrate(connection: sqlite3.Connection, *, up_to: int | None = None) -> int:
    """Apply pending migrations (those numbered up to `up_to`, if given); returns the
    schema version."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
    for version, path in migrations():
        if version in applied or (up_to is not None and version > up_to):
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            again = connection.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if again is None:
                _apply(connection, path)
                connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, path.name, now_utc()),
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    row = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def _apply(connection: sqlite3.Connection, path: Path) -> None:
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.upgrade(connection)
        return
    for statement in _statements(path.read_text(encoding="utf-8")):
        connection.execute(statement)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our DDL's strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
