"""What Textual draws, freed by refcounting: no reference cycles (playground/ui/acyclic.py)."""

from __future__ import annotations

import gc

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.css.styles import RenderStyles, Styles
from textual.dom import DOMNode
from textual.strip import Strip
from textual.widgets import TextArea

from playground.ui import acyclic, private_api


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
    acyclic.install()


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


class _Inputs(App[None]):
    CSS = """
    TextArea > .text-area--cursor-line { background: #112233; }
    TextArea:focus > .text-area--cursor-line { background: #aa0000; }
    """

    def compose(self) -> ComposeResult:
        yield TextArea("one", id="one")
        yield TextArea("two", id="two")


async def test_styling_a_widget_again_makes_no_garbage_and_its_component_styles_follow():
    app = _Inputs()
    async with app.run_test() as pilot:
        one, two = app.query_one("#one", TextArea), app.query_one("#two", TextArea)

        def cursor_line(area: TextArea) -> str | None:
            area._rich_style_cache.clear()
            color = area.get_component_rich_style("text-area--cursor-line").bgcolor
            return None if color is None else color.name

        one.focus()
        await pilot.pause()
        assert (cursor_line(one), cursor_line(two)) == ("#aa0000", "#112233")
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(20):
                two.focus()
                await pilot.pause()
                one.focus()
                await pilot.pause()
            gc.collect()
            left = [type(o).__qualname__ for o in gc.garbage if isinstance(o, (DOMNode, Styles, RenderStyles))]
        finally:
            gc.garbage.clear()
            gc.set_debug(0)
        assert not left, "focus moving between inputs left their old component styles as cyclic garbage"
        two.focus()
        await pilot.pause()
        assert (cursor_line(one), cursor_line(two)) == ("#112233", "#aa0000"), "the component styles followed the focus"


def test_a_cleared_cache_lets_its_entries_go_without_the_collector():
    from textual.cache import LRUCache

    def fill_and_clear(line: Strip) -> None:
        cache: LRUCache[int, Strip] = LRUCache(64)
        for n in range(100):
            cache[n] = line.crop(0, n % 7)
        cache.clear()
        assert len(cache) == 0 and cache.get(3) is None
        cache[1] = line
        assert cache[1] is line, "a cleared cache works as before"
        cache.clear()

    assert unreachable_after(fill_and_clear) == 0
