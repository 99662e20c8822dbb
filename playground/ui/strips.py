"""Textual's lines without reference cycles (a private-API override; see `private_api`).

Every line Textual draws is a `Strip`, and a strip caches what it derives from itself. Dividing
a strip at its own length, or cropping it to its own extent, gives the strip itself, and Textual
8.2 caches that too: the strip then refers to itself through its cache, a reference cycle. Such
a strip is not freed when the last line referring to it goes (a log line scrolled out of the
scrollback, a panel drawn again) but only by the cycle collector's full passes, and in a long
session these were most of what those passes walked: about 4,000 strips, with their segments
and 29,000 caches, every 130 steps of the soak.

`install()` makes both return the strip itself without caching it: the same results, and lines
that refcounting frees. Switched off, with the other overrides, by `TXPLAY_TEXTUAL_PRIVATE=0`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

_installed = False


def install() -> None:
    """Patch `Strip.divide` and `Strip.crop_extend` (once) so that no strip caches itself."""
    global _installed
    if _installed:
        return
    _installed = True
    divide, crop_extend = Strip.divide, Strip.crop_extend

    def acyclic_divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cuts = list(cuts)
        length = self.cell_length
        if [cut for cut in cuts if cut <= length] == [length]:
            return [self]  # what Textual returns (and caches) for a strip cut only at its end
        return divide(self, cuts)

    def acyclic_crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self  # extending to its own length and cropping to it give the strip itself
        return crop_extend(self, start, end, style)

    Strip.divide = acyclic_divide  # type: ignore[method-assign]
    Strip.crop_extend = acyclic_crop_extend  # type: ignore[method-assign]
