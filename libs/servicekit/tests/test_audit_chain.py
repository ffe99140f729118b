"""The audit hash chain's verdicts, pure: an edited row, a deleted row, a removed tail, a rewritten chain."""

from __future__ import annotations

from dataclasses import replace

from wiser_servicekit import audit_chain as ac


def chain(n: int) -> tuple[list[ac.Row], list[ac.Head]]:
    rows, heads, prev = [], [], ac.GENESIS
    for i in range(1, n + 1):
        fields = {"id": i, "action": "packet.view", "username": f"u{i}", "detail": {"n": i}}
        h = ac.link(prev, fields)
        rows.append(ac.Row(i, prev, h, fields))
        heads.append(ac.Head(i, h))
        prev = h
    return rows, heads


def kinds(findings: list[ac.Finding]) -> set[tuple[str, int | None]]:
    return {(f.kind, f.audit_id) for f in findings}


def test_an_intact_chain_has_no_findings() -> None:
    rows, heads = chain(5)
    assert ac.verify(rows, heads) == []
    assert ac.verify([], []) == []


def test_an_edited_row_breaks_its_own_hash() -> None:
    rows, heads = chain(5)
    rows[2] = replace(rows[2], fields={**rows[2].fields, "username": "mallory"})
    assert kinds(ac.verify(rows, heads)) == {("edited", 3)}


def test_a_deleted_row_breaks_the_next_link() -> None:
    rows, _ = chain(5)
    assert kinds(ac.verify(rows[:2] + rows[3:], [])) == {("deleted", 4)}
    assert kinds(ac.verify(rows[1:], [])) == {("deleted", 2)}  # the first row went


def test_a_removed_tail_shows_only_against_the_sealed_heads() -> None:
    rows, heads = chain(5)
    assert ac.verify(rows[:3], []) == []  # the chain alone cannot see it
    assert kinds(ac.verify(rows[:3], heads)) == {("truncated", 4), ("truncated", 5)}


def test_a_rewritten_and_rehashed_chain_shows_against_the_sealed_heads() -> None:
    rows, heads = chain(3)
    forged, prev = [], ac.GENESIS
    for row in rows:
        fields = {**row.fields, "action": "nothing"} if row.id == 2 else row.fields
        h = ac.link(prev, fields)
        forged.append(ac.Row(row.id, prev, h, fields))
        prev = h
    assert ac.verify(forged, []) == []
    assert kinds(ac.verify(forged, heads)) == {("rewritten", 2), ("rewritten", 3)}


def test_heads_are_read_back_from_the_services_json_log() -> None:
    lines = [
        '{"service": "gateway", "msg": "audit sealed", "audit_id": "7", "audit_hash": "' + "a" * 64 + '"}',
        '{"service": "intake", "msg": "audit sealed", "audit_id": "8", "audit_hash": "b"}',
        "not json",
    ]
    assert ac.heads_from_log(lines, "gateway") == [ac.Head(7, "a" * 64, "log")]
