"""Moving between panes leaves nothing behind in the footer, which still follows the keys."""

from __future__ import annotations

import gc

from textual.widgets._footer import FooterKey

from tests.ui.conftest import caught_up


def footer_keys_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_focus_switches_keep_the_footer_keys_alive_stable(app_factory):
    app = app_factory(sessions=3)
    async with app.run_test(size=(200, 50)) as pilot:
        await caught_up(pilot)
        names = list(app.workspace.sessions)
        app.pane(names[0]).input.focus()
        await pilot.pause()
        before = footer_keys_alive()
        for i in range(12):
            app.pane(names[i % len(names)]).input.focus()
            await pilot.pause()
        assert app.focused is app.pane(names[11 % len(names)]).input
        after = footer_keys_alive()
        assert after <= before, f"{after - before} FooterKey widgets more after 12 focus switches"
        shown = {key.key for key in app.footer.query(FooterKey)}
        assert {"f1", "ctrl+q", "f12"} <= shown

        app.bind("f11", "toggle_matrix", description="Matrix")  # the keys change: the footer follows
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert "f11" in {key.key for key in app.footer.query(FooterKey)}
