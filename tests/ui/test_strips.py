"""Lines that refcounting frees: a strip never caches itself (playground/ui/strips.py)."""

from __future__ import annotations

import gc

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from playground.ui import private_api, strips


def lines(count: int) -> list[Strip]:
    return [Strip([Segment(f"line {n} ", Style(bold=True)), Segment("of the log")]) for n in range(count)]


def unreachable_after(use) -> int:
    """The objects only a cycle-collector pass frees, once 1,000 lines used as `use` says are dropped."""
    gc.collect()
    drawn = lines(1000)
    for line in drawn:
        use(line)
    del drawn, line
    return gc.collect()


@pytest.fixture(autouse=True)
def installed():
    if not private_api.ENABLED:
        pytest.skip("TXPLAY_TEXTUAL_PRIVATE=0: Textual's own strips, which cache themselves")
    strips.install()


def test_a_line_cut_only_at_its_end_is_freed_without_the_collector():
    assert unreachable_after(lambda line: line.divide([line.cell_length])) == 0


def test_a_line_cropped_to_its_own_extent_is_freed_without_the_collector():
    assert unreachable_after(lambda line: line.crop_extend(0, line.cell_length, None)) == 0


def test_the_results_are_textuals():
    (line,) = lines(1)
    length = line.cell_length
    assert line.divide([length]) == [line] and line.divide([length, length + 5]) == [line]
    assert [s.text for s in line.divide([4, length])] == ["line", " 0 of the log"]
    assert line.crop_extend(0, length, None) is line
    assert line.crop_extend(-2, length, None) is line
    assert line.crop_extend(0, length + 3, None).text == line.text + "   "
    assert line.crop_extend(5, length, None).text == line.text[5:]
