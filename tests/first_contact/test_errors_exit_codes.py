"""Clear errors and honest exit codes: a database that cannot be reached or opened gives one line naming
the URL without its password and exit 2, in every command that opens one; `audit verify` exits 0 intact,
1 broken, 2 could not check; a command other than `serve`/`db upgrade` never creates a missing SQLite
database; `screen` on a missing file exits 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fc_helpers import run_cli

UNREACHABLE = "postgresql://bob:s3cret@127.0.0.1:1/nodb"
SHOWN = "postgresql://bob:***@127.0.0.1:1/nodb"
DB_COMMANDS = [
    ["serve"],
    ["db", "upgrade"],
    ["audit", "verify"],
    ["apikey", "create", "--name", "site", "--scope", "screen"],
    ["user", "create", "bob"],
    ["hotline", "ncmec-xml", "--case", "1"],
    ["hotline", "outbox"],
    ["hotline", "export-iwf", "--since", "2025-01-01"],
    ["evidence", "purge"],
    ["report", "transparency", "--month", "2025-01"],
    ["export", "--format", "v1"],
]


@pytest.mark.parametrize("args", DB_COMMANDS, ids=[" ".join(a[:2]) for a in DB_COMMANDS])
def test_unreachable_database_is_one_line_exit_2_without_password(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli([*args, "--database", UNREACHABLE])
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and SHOWN in lines[0], err
    assert "s3cret" not in out + err


# Commands with the default ./indexguard.db (export reads a database only when --database names one).
ON_DEFAULT_DB = [a for a in DB_COMMANDS[2:] if a[0] != "export"]


@pytest.mark.parametrize("args", ON_DEFAULT_DB, ids=[" ".join(a[:2]) for a in ON_DEFAULT_DB])
def test_missing_sqlite_database_is_named_not_created(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args)  # the default: ./indexguard.db, which is not there
    assert code == 2
    assert "no database at" in err and "indexguard.db" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [], "a database or key file was created"


def test_sqlite_in_a_missing_directory(tmp_path: Path) -> None:
    code, _, err = run_cli(["db", "upgrade", "--database", f"sqlite:///{tmp_path}/no/such/dir/x.db"])
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_audit_verify_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "ig.db"
    url = f"sqlite:///{path}"
    assert run_cli(["user", "create", "alice", "--database", url])[0] == 2  # no database yet
    assert run_cli(["db", "upgrade", "--database", url])[0] == 0
    assert run_cli(["user", "create", "alice", "--database", url])[0] == 0
    code, out, _ = run_cli(["audit", "verify", "--database", url])
    assert code == 0 and "intact" in out
    with sqlite3.connect(path) as c:
        c.execute("UPDATE audit_log SET target = 'mallory' WHERE seq = 1")
    code, out, _ = run_cli(["audit", "verify", "--database", url])
    assert code == 1 and "BROKEN at row 1" in out
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database that was never migrated: nothing to check
    code, _, err = run_cli(["audit", "verify", "--database", f"sqlite:///{empty}"])
    assert code == 2 and "could not check" in err


def test_screen_missing_file_exits_2(tmp_path: Path) -> None:
    code, out, err = run_cli(["screen", str(tmp_path / "missing.jsonl")])
    assert code == 2 and out == ""
    assert "missing.jsonl: no such file" in err
