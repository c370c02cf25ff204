"""The write-ahead backup journal (kubetrust.migrate.journal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubetrust.migrate import journal
from kubetrust.migrate.journal import Journal, JournalError

UNDO = {"kind": "trust", "account": "111111111111", "role": "ci", "before": {"Statement": []}}


def test_steps_read_back_in_order_with_their_done_marks(tmp_path: Path) -> None:
    backup = Journal.create(tmp_path / "b", {"kind": "pod-identity", "cluster": "c"})
    first = backup.started("update the trust of ci", UNDO)
    backup.done(first)
    backup.started("create the association", {"kind": "association", "cluster": "c"})
    steps = journal.read_steps(tmp_path / "b")
    assert [(s.number, s.what, s.done) for s in steps] == [
        (1, "update the trust of ci", True),
        (2, "create the association", False),  # killed between started and done
    ]
    assert steps[0].undo == UNDO
    assert journal.read_migration(tmp_path / "b")["kind"] == "pod-identity"
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o700


def test_a_rerun_continues_the_same_backup(tmp_path: Path) -> None:
    Journal.create(tmp_path, {"kind": "access-entries"}).started("one", UNDO)
    again = Journal.create(tmp_path, {"kind": "something else"})
    assert again.started("two", UNDO) == 2
    assert journal.read_migration(tmp_path)["kind"] == "access-entries"


def test_a_torn_last_line_is_ignored_but_a_torn_middle_line_is_refused(tmp_path: Path) -> None:
    backup = Journal.create(tmp_path, {"kind": "access-entries"})
    backup.done(backup.started("one", UNDO))
    path = tmp_path / "journal.jsonl"
    with path.open("a") as handle:
        handle.write('{"event": "started", "step": 2, "what": "tw')
    assert [s.number for s in journal.read_steps(tmp_path)] == [1]
    with path.open("a") as handle:
        handle.write("\n" + json.dumps({"event": "done", "step": 1}) + "\n")
    with pytest.raises(JournalError, match=r"journal.jsonl:3: not a JSON line"):
        journal.read_steps(tmp_path)


def test_unknown_undo_kinds_are_refused_on_write_and_on_read(tmp_path: Path) -> None:
    backup = Journal.create(tmp_path, {"kind": "access-entries"})
    with pytest.raises(ValueError, match="unknown undo kind 'reboot'"):
        backup.started("reboot", {"kind": "reboot"})
    line = {"event": "started", "step": 1, "what": "x", "undo": {"kind": "reboot"}}
    (tmp_path / "journal.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(JournalError, match="an undo record kubetrust does not know"):
        journal.read_steps(tmp_path)


def test_a_directory_without_migration_json_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is not a kubetrust migration backup"):
        journal.read_migration(tmp_path)
    (tmp_path / "migration.json").write_text("[1]")
    with pytest.raises(JournalError, match="not a JSON object"):
        journal.read_migration(tmp_path)
