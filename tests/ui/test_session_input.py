"""The session input, as a widget on its own."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import UPDATE_PERIOD, Screen

from playground.ui import private_api
from playground.ui.compositor import TxplayScreen

from playground.ui.history import History
from playground.ui.session_input import SessionInput


class _OneInput(App[None]):
    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        yield SessionInput(self.history, lambda: ())


class _OnTxplayScreen(_OneInput):
    def get_default_screen(self) -> Screen:
        return TxplayScreen()


def _drawn(field: SessionInput) -> str:
    return "\n".join(strip.text for strip in field.render_lines(Region(0, 0, *field.outer_size)))


async def test_an_input_drawn_before_the_stylesheet_came_is_blank_for_that_frame_not_a_crash(tmp_path):
    """Textual 8.2 may draw a TextArea before its component styles are applied (its issue 6528):
    the theme then asked for the gutter's style (a KeyError), or, with a default style, blended a
    colour with the theme's colour name (AttributeError: 'str' object has no attribute 'auto').
    Either took the app down; seen in a step back on a busy machine."""
    app = _OneInput(History(tmp_path / "history"))
    async with app.run_test(size=(40, 6)) as pilot:
        field = app.query_one(SessionInput)
        field.text = "select 1"
        await pilot.pause()
        assert "select 1" in _drawn(field)

        field._component_styles.clear()  # as just after a mount, before the stylesheet reached it
        field._rich_style_cache.clear()
        blank = field.render_lines(Region(0, 0, 12, 2))
        assert [strip.text for strip in blank] == [" " * 12, " " * 12]

        app.stylesheet.apply(field)  # the stylesheet comes: the next frame draws the input
        await pilot.pause()
        assert "select 1" in _drawn(field)


async def _texts_drawn(app: App, pilot, field: SessionInput) -> list[str]:
    """The field's text at each screen update from now on (the input focused first)."""
    field.focus()
    await pilot.pause()
    shown: list[str] = []
    display = app._display

    def recording(screen, update) -> None:
        display(screen, update)
        shown.append(field.text)

    app._display = recording
    return shown


# Drawing a key at once is one of the private-API overrides: with them off (TXPLAY_TEXTUAL_PRIVATE=0)
# every change waits for the screen's next frame, as in Textual.
AT_ONCE = private_api.ENABLED


async def test_a_keystroke_is_on_screen_when_its_key_is_handled_not_a_frame_later(tmp_path):
    """Textual draws a change at its screen's next 60 Hz tick, up to two frames away while other
    panes change: typing echoed 17 ms late at the median. A typed character, and a backspace,
    are drawn before their key's handling ends."""
    app = _OnTxplayScreen(History(tmp_path / "history"))
    async with app.run_test(size=(40, 6)) as pilot:
        field = app.query_one(SessionInput)
        shown = await _texts_drawn(app, pilot, field)
        await field._on_key(events.Key("x", "x"))
        assert shown == (["x"] if AT_ONCE else [])
        await pilot.pause(2 * UPDATE_PERIOD)
        assert shown[-1] == "x"
        drawn = len(shown)
        field.action_delete_left()
        assert shown[drawn:] == ([""] if AT_ONCE else [])
        await pilot.pause(2 * UPDATE_PERIOD)
        drawn = len(shown)
        await field._on_key(events.Key("ctrl+u", None))  # not a character: drawn at the next frame as before
        assert shown[drawn:] == []


async def test_keys_in_a_burst_share_a_frame(tmp_path):
    """A terminal sends a paste, or keys typed faster than frames, as a burst: the first is drawn
    at once, the rest with the next frame, not one frame each (which stalled the loop while
    another session spun in Python)."""
    app = _OnTxplayScreen(History(tmp_path / "history"))
    async with app.run_test(size=(40, 6)) as pilot:
        field = app.query_one(SessionInput)
        shown = await _texts_drawn(app, pilot, field)
        for key in "select":
            await field._on_key(events.Key(key, key))
        assert shown == (["s"] if AT_ONCE else [])
        await pilot.pause(2 * UPDATE_PERIOD)
        assert shown[-1] == "select"
