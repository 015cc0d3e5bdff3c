"""The line for an environment's lock on one machine: tickets in arrival order, and a dead
waiter's ticket (its file left behind, held by no one) leaves the line by itself."""

from __future__ import annotations

from pathlib import Path

from flexor_iac.core.queue import place, ticket


def test_tickets_are_placed_in_arrival_order_and_leave_the_line_when_done(
        tmp_path: Path) -> None:
    line = tmp_path / "staging.queue"
    with ticket(line, "a") as a, ticket(line, "b") as b:
        with ticket(line, "c") as c:
            assert [place(t) for t in (a, b, c)] == [1, 2, 3]
            assert a.number < b.number < c.number
        assert [place(t) for t in (a, b)] == [1, 2]
        with ticket(line, "d") as d:  # a later arrival goes to the back of the line
            assert place(d) == 3 and d.number > c.number
    assert sorted(path.name for path in line.iterdir()) == ["next"]


def test_a_ticket_nobody_holds_is_a_dead_waiters_and_is_removed(tmp_path: Path) -> None:
    line = tmp_path / "staging.queue"
    with ticket(line, "a") as a, ticket(line, "b") as b:
        a.handle.close()  # as the kernel does for a killed waiter: its flock is gone
        dead = line / f"{a.number:020d}"
        assert dead.exists()
        assert place(b) == 1
        assert not dead.exists()


def test_numbers_go_on_past_a_lost_counter(tmp_path: Path) -> None:
    line = tmp_path / "staging.queue"
    with ticket(line, "a") as a:
        (line / "next").write_text("")
        with ticket(line, "b") as b:
            assert b.number > a.number and place(b) == 2
