"""The anomaly suite: each test's scenario and the rule that reads its run.

A rule gets the observations of every step, in the scenario's order (begin steps included),
and decides from the anomaly's definition alone: "occurs" only when the run shows it;
otherwise prevented, by the error a step of the anomaly got, by a wait, or by a snapshot.
A run it cannot read raises Unclassifiable. The designs follow Hermitage's.
"""

from __future__ import annotations

from playground.matrix.model import Decide, MatrixTest, Observed, Unclassifiable, Verdict, first_refusal, held_back


def decide_g0(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write r1, T2 write r1, T1 write r2, T1 commit, T2 write r2,
    T2 commit, C read. The second writer of row 1 must wait or be refused."""
    second = steps[3]
    if stopped := first_refusal(steps, (3, "T2's write of row 1")):
        return stopped
    final = steps[8].rows
    if second.waited:
        mixed = final not in ([(1, 11), (2, 21)], [(1, 12), (2, 22)])
        if mixed:
            return Verdict(False, "occurs", None, f"T2 waited, yet the rows ended mixed: {final}")
        return Verdict(True, "wait", None, f"T2's write of row 1 waited for T1; the rows ended {final}")
    return Verdict(False, "occurs", None, f"T2 wrote row 1 over T1's uncommitted write without waiting; rows ended {final}")


def decide_g1a(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write 101, T2 read, T1 rollback, T2 read, T2 commit. T2 must
    never read 101."""
    if stopped := first_refusal(steps, (3, "T2's read")):
        return stopped
    seen = steps[3].rows
    if seen == [(101,)]:
        return Verdict(False, "occurs", None, "T2 read 101, which T1 then rolled back")
    return held_back(steps, (3,), f"T2 read {seen}, not T1's uncommitted 101")


def decide_p4(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read, T2 read, T1 write, T2 write, T1 commit, T2 commit,
    C read. Both increments commit from the same read: an update lost."""
    if stopped := first_refusal(steps, (5, "T2's write"), (7, "T2's commit"), (4, "T1's write"), (6, "T1's commit")):
        return stopped
    final = steps[8].rows
    return Verdict(False, "occurs", None, f"both transactions committed an increment from 10; the counter ended {final}")


def decide_g1b(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write 101, T2 read, T1 write 11, T1 commit, T2 read, T2 commit.
    T2 must never read the intermediate 101."""
    if stopped := first_refusal(steps, (3, "T2's read")):
        return stopped
    if steps[3].rows == [(101,)]:
        return Verdict(False, "occurs", None, "T2 read 101, which T1 overwrote before committing")
    return held_back(steps, (3,), f"T2 read {steps[3].rows}, not T1's intermediate 101")


def decide_g1c(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write r1=11, T2 write r2=22, T1 read r2, T2 read r1, T1 commit,
    T2 commit. Each reading the other's uncommitted write is the cycle."""
    first, second = steps[4], steps[5]
    if stopped := first_refusal(steps, (4, "T1's read of row 2"), (5, "T2's read of row 1"), (3, "T2's write")):
        return stopped
    if first.rows == [(22,)] and second.rows == [(11,)]:
        return Verdict(False, "occurs", None, "T1 read T2's uncommitted 22 and T2 read T1's uncommitted 11")
    return held_back(steps, (4, 5), f"neither read the other's uncommitted write: T1 read {first.rows}, T2 {second.rows}")


def decide_g_single(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read r1, T2 write r1, T2 write r2, T2 commit, T1 read r2, T1
    commit. T1 seeing row 1 before T2 and row 2 after it is the skew."""
    if stopped := first_refusal(steps, (3, "T2's write of row 1"), (4, "T2's write of row 2"), (5, "T2's commit"),
                                (6, "T1's read")):
        return stopped
    first, second = steps[2].rows, steps[6].rows
    if first == [(10,)] and second == [(18,)]:
        return Verdict(False, "occurs", None, "T1 read row 1 as 10 (before T2) and row 2 as 18 (after T2): 28, not 30")
    return held_back(steps, (3, 6), f"T1 read one state: {first} and {second}")


def decide_g2_item(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read both, T2 read both, T1 write r1, T2 write r2, T1 commit,
    T2 commit, C read. Both committing, each on what it read before the other's write, is write skew."""
    if stopped := first_refusal(steps, (4, "T1's write"), (5, "T2's write"), (6, "T1's commit"), (7, "T2's commit")):
        return stopped
    return Verdict(False, "occurs", None, f"both committed a write based on what they read; rows ended {steps[8].rows}")


# Each row's value names the transaction that wrote it, in OTV: before T1, T1's, T2's.
_OTV_WRITERS = ({10: 0, 11: 1, 12: 2}, {20: 0, 19: 1, 18: 2})
_OTV_WHOLE = ("the initial state", "T1's state", "T2's state")


def decide_otv(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T3 begin, T1 write r1=11, T1 write r2=19, T2 write r1=12, T1 commit,
    T3 read both, T2 write r2=18, T2 commit, T3 read both, T3 commit. A read of T3 must show one
    transaction's writes whole, and a later read must not lose a transaction T3 already saw.
    Held back by a wait: a read of T3, or T2's commit (a lock T3's reads hold)."""
    latest = 0
    for index in (7, 10):
        if steps[index].error:
            continue
        rows = steps[index].rows
        try:
            writers = [_OTV_WRITERS[row - 1][value] for row, value in rows]
        except (KeyError, IndexError, ValueError) as exc:
            raise Unclassifiable(f"OTV: T3's read at step {index + 1} returned {rows}, not rows 1 and 2") from exc
        if len(writers) != 2:
            raise Unclassifiable(f"OTV: T3's read at step {index + 1} returned {rows}, not rows 1 and 2")
        if writers[0] != writers[1]:
            return Verdict(False, "occurs", None, f"T3 read {rows}: one transaction's write on one row but not the other")
        if writers[0] < latest:
            return Verdict(False, "occurs", None, f"T3 read {rows} after it had seen {_OTV_WHOLE[latest]}: that vanished")
        latest = writers[0]
    if stopped := first_refusal(steps, (7, "T3's first read"), (10, "T3's second read"), (5, "T2's write of row 1"),
                                (8, "T2's write of row 2"), (9, "T2's commit"), (3, "T1's write of row 1"),
                                (4, "T1's write of row 2"), (6, "T1's commit")):
        return stopped
    return held_back(steps, (7, 9, 10), f"each read of T3 showed a whole state: {steps[7].rows}, then {steps[10].rows}")


def decide_pmp(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read value = 30, T2 insert 30, T2 commit, T1 read value % 3 = 0,
    T1 commit. T1's second read finding the row its first did not is the anomaly."""
    if stopped := first_refusal(steps, (2, "T1's first read"), (3, "T2's insert"), (4, "T2's commit"),
                                (5, "T1's second read")):
        return stopped
    second = steps[5].rows
    if second == [(3, 30)]:
        return Verdict(False, "occurs", None, "T1 first found no row with value 30, then found T2's (3, 30)")
    if second != []:
        raise Unclassifiable(f"PMP: T1's second read returned {second}")
    return held_back(steps, (3, 4, 5), "T1's second read found no multiple of 3, as its first found no 30")


# What T2 reads before and after its delete, in PMP-write, in each serial order.
_PMP_WRITE_SERIAL = {"T2 before T1": ([(2, 20)], [(1, 10)]), "T1 before T2": ([(1, 20)], [(2, 30)])}


def decide_pmp_write(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T2 read value = 20, T1 add 10 to every row, T2 delete value = 20,
    T1 commit, T2 read all, T2 commit. T2's read by condition, its delete by the same condition
    and its read afterwards must all place T2 on one side of T1; anything else is the anomaly."""
    if stopped := first_refusal(steps, (2, "T2's first read"), (3, "T1's update"), (4, "T2's delete"),
                                (5, "T1's commit"), (6, "T2's read after its delete")):
        return stopped
    before, after = steps[2].rows, steps[6].rows
    for order, seen in _PMP_WRITE_SERIAL.items():
        if (before, after) == seen:
            return held_back(steps, (3, 4), f"T2 read {before}, deleted, then read {after}: as if {order}")
    return Verdict(False, "occurs", None, f"T2 read {before} by value = 20, deleted by the same condition, then read "
                                          f"{after}: its delete and its reads saw different states")


def decide_g_single_dependencies(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read value % 5 = 0, T2 set 12 where value = 10, T2 commit,
    T1 read value % 3 = 0, T1 commit. T1 seeing row 1 as 10 and then as 12 is the skew."""
    if stopped := first_refusal(steps, (2, "T1's first read"), (3, "T2's write"), (4, "T2's commit"),
                                (5, "T1's second read")):
        return stopped
    first, second = steps[2].rows, steps[5].rows
    if first != [(1, 10), (2, 20)]:
        raise Unclassifiable(f"G-single-dependencies: T1's first read returned {first}")
    if second == [(1, 12)]:
        return Verdict(False, "occurs", None, "T1 saw row 1 as 10 (before T2), then found it as 12 (after T2)")
    if second != []:
        raise Unclassifiable(f"G-single-dependencies: T1's second read returned {second}")
    return held_back(steps, (3, 4, 5), "T1's second read found no multiple of 3: row 1 was still 10 for it")


def _write_skew_rule(name: str, t2_steps: tuple[int, ...], delete: int, final: int) -> Decide:
    """The rule of the G-single-write tests: T1 reads row 1 (step 2), T2 rewrites both rows and
    commits (`t2_steps`), T1 deletes value = 20 (`delete`) and reads both rows (`final`). T1 read
    row 1 before T2, so its delete must judge row 2 before T2 too: row 2 left means it did not."""
    read = 2

    def decide(steps: list[Observed]) -> Verdict:
        t2 = tuple((i, "T2's write" if n < len(t2_steps) - 1 else "T2's commit") for n, i in enumerate(t2_steps))
        if stopped := first_refusal(steps, (read, "T1's read"), *t2, (delete, "T1's delete")):
            return stopped
        if steps[read].rows != [(10,)] or steps[final].error or not steps[final].rows:
            raise Unclassifiable(f"{name}: T1 read {steps[read].rows}, then {steps[final].rows}")
        after = steps[final].rows
        if any(row == 2 for row, _ in after):
            return Verdict(False, "occurs", None, f"T1 read row 1 as 10, before T2; its delete of the rows with value 20 "
                                                  f"judged row 2 after T2 and left it: T1 then read {after}")
        return held_back(steps, (delete,), f"T1's delete removed row 2, as the state T1 read says: T1 then read {after}")

    return decide


def decide_g2(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read value % 3 = 0, T2 the same, T1 insert 30, T2 insert 42,
    T1 commit, T2 commit, C read value % 3 = 0. Both committing, each having found none, is the cycle."""
    if stopped := first_refusal(steps, (2, "T1's read"), (3, "T2's read"), (4, "T1's insert"), (5, "T2's insert"),
                                (6, "T1's commit"), (7, "T2's commit")):
        return stopped
    final = steps[8].rows
    if final != [(3, 30), (4, 42)] or steps[2].rows or steps[3].rows:
        raise Unclassifiable(f"G2: both committed, yet the reads found {steps[2].rows} and {steps[3].rows} and the "
                             f"committed rows are {final}")
    return Verdict(False, "occurs", None, f"both found no multiple of 3 and both inserted one: {final}")


def decide_g2_two_edges(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T1 read both, T2 begin, T2 add 5 to r2, T2 commit, T3 begin, T3 read both,
    T3 commit, T1 set r1 = 0, T1 commit, C read. T1 before T2 (read r2 = 20), T2 before T3 (T3 saw
    25), T3 before T1 (T3 read r1 = 10, T1 then wrote it): all three committing so is a cycle."""
    if stopped := first_refusal(steps, (1, "T1's read"), (3, "T2's write"), (4, "T2's commit"), (6, "T3's read"),
                                (8, "T1's write"), (9, "T1's commit")):
        return stopped
    first, third = steps[1].rows, steps[6].rows
    if first != [(1, 10), (2, 20)]:
        raise Unclassifiable(f"G2-two-edges: T1's read returned {first}")
    if third == [(1, 10), (2, 25)]:
        return Verdict(False, "occurs", None, f"T1 read 20 before T2, T3 read T2's 25 and row 1 before T1; all three "
                                              f"committed: {steps[10].rows}")
    if third != [(1, 10), (2, 20)]:
        raise Unclassifiable(f"G2-two-edges: T3's read returned {third}")
    return held_back(steps, (3, 4, 6), "T3 did not see T2's 25, so T3 comes before T2 and no cycle forms")


SUITE: tuple[MatrixTest, ...] = (
    MatrixTest("G0", "dirty write", "a transaction overwrites another's uncommitted write", "matrix_g0", decide_g0),
    MatrixTest("G1a", "aborted read", "a transaction reads a write that is later rolled back", "matrix_g1a", decide_g1a),
    MatrixTest("G1b", "intermediate read", "a transaction reads a value another overwrote before committing",
               "matrix_g1b", decide_g1b),
    MatrixTest("G1c", "circular information flow", "each of two transactions reads the other's uncommitted write",
               "matrix_g1c", decide_g1c),
    MatrixTest("OTV", "observed transaction vanishes", "a reader sees only part of a transaction, or loses one it saw",
               "matrix_otv", decide_otv),
    MatrixTest("PMP", "predicate-many-preceders", "a read by condition finds a row another transaction committed "
               "after an earlier read by condition did not", "matrix_pmp", decide_pmp),
    MatrixTest("PMP-write", "predicate-many-preceders (write)", "a delete by condition judges rows by another state "
               "than the transaction's own reads", "matrix_pmp_write", decide_pmp_write),
    MatrixTest("P4", "lost update", "two read-modify-write cycles interleave and one increment vanishes", "matrix_p4",
               decide_p4),
    MatrixTest("G-single", "read skew", "a transaction sees part of another's changes: one row before, one after",
               "matrix_gsingle", decide_g_single),
    MatrixTest("G-single-dependencies", "read skew (conditions)", "a transaction's reads by condition see a row "
               "before another's change, then after it", "matrix_gsingle_dependencies", decide_g_single_dependencies),
    MatrixTest("G-single-write-1", "read skew (write)", "a transaction reads before another's commit but its delete "
               "judges rows after it", "matrix_gsingle_write1",
               _write_skew_rule("G-single-write-1", (3, 4, 5), 6, 7)),
    MatrixTest("G-single-write-2", "read skew (write, concurrent)", "as G-single-write-1, with the delete sent while "
               "the other's writes are uncommitted", "matrix_gsingle_write2",
               _write_skew_rule("G-single-write-2", (4, 5, 7), 6, 8)),
    MatrixTest("G2-item", "write skew", "two transactions each update a row based on a read the other's write changes",
               "matrix_g2item", decide_g2_item),
    MatrixTest("G2", "anti-dependency cycle", "two transactions each find no row matching a condition and each insert "
               "one", "matrix_g2", decide_g2),
    MatrixTest("G2-two-edges", "anti-dependency cycle (two edges)", "three transactions each see the others in an "
               "order no serial run gives", "matrix_g2_two_edges", decide_g2_two_edges),
)
