"""Opening the history database: what a path check may and may not do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skill.store.db import check_path, connect
from skill.store.history import HistoryReader

# Another process opens and closes the database: if it can take the file's
# exclusive lock (no one else holds theirs), it checkpoints and deletes the log.
OTHER_PROCESS = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "c.execute('SELECT 1 FROM sqlite_master').fetchall(); c.close()"
)


def _open_elsewhere(path: Path) -> None:
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path)], check=True)


def _database_with_unmerged_log(tmp_path: Path):
    path = tmp_path / "history.db"
    connection = connect(path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.execute("INSERT INTO notes VALUES ('kept')")
    assert Path(f"{path}-wal").exists()
    return path, connection


def test_checking_the_path_again_keeps_the_open_connections_lock(tmp_path: Path):
    path, connection = _database_with_unmerged_log(tmp_path)
    try:
        check_path(path, must_exist=True)
        connect(path).close()
        _open_elsewhere(path)
        assert Path(f"{path}-wal").exists(), "another process took itself for the last user"
    finally:
        connection.close()


def test_a_history_reader_in_the_same_process_keeps_the_writers_lock(tmp_path: Path):
    path, connection = _database_with_unmerged_log(tmp_path)
    try:
        HistoryReader(path, depth=2).close()
        _open_elsewhere(path)
        assert Path(f"{path}-wal").exists(), "another process took itself for the last user"
    finally:
        connection.close()
