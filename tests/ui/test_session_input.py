"""The session input, as a widget on its own."""

from __future__ import annotations

from rich.style import Style

from playground.ui.history import History
from playground.ui.session_input import SessionInput


def test_a_component_style_asked_before_the_stylesheet_came_is_plain_not_a_crash(tmp_path):
    """Textual 8.2 may draw a TextArea before its component styles are applied (its issue 6528):
    the theme then asks for the gutter's style, which raised KeyError and took the app down."""
    field = SessionInput(History(tmp_path / "history"), lambda: ())
    assert field.get_component_rich_style("text-area--gutter") == Style()
    assert field.get_component_rich_style("text-area--gutter", default=Style(bold=True)) == Style(bold=True)
