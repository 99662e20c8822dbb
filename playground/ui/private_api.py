"""The one switch for txplay's overrides that rest on Textual's private API.

Four overrides reach past Textual's public API: the screen compositor that renders only the
changed rows (`compositor.SpanCompositor`), a keystroke drawn while its key is handled instead of
at the screen's next frame (`compositor.TxplayScreen.draw_now`), the log's `virtual_size` override
that keeps a written line from asking for a layout of the whole screen (`step_log.StepLog`), and
lines and component styles made without reference cycles, so that refcounting frees them (`acyclic`). They can break on a Textual
upgrade; `TXPLAY_TEXTUAL_PRIVATE=0` in the environment switches them off (slower redraws, longer
collector passes, Textual's own behaviour). Read once, when the UI is imported.
"""

from __future__ import annotations

import os

ENV = "TXPLAY_TEXTUAL_PRIVATE"

ENABLED = os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")
"""Whether the private-API overrides are in use (unless the environment says 0/false/no/off)."""
