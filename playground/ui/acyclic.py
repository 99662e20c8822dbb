"""Textual without the reference cycles it makes as it draws (private-API overrides; see `private_api`).

An object in a reference cycle is not freed when the last reference to it goes, only by the cycle
collector's full passes, which walk the whole heap; and the app freezes what survives a pass out
of later ones (`collector`), so a cycle that dies frozen stays until a complete pass. In a long
session two of Textual 8.2's habits made nearly all such garbage:

**Lines.** Every line Textual draws is a `Strip`, and a strip caches what it derives from itself. Dividing
a strip at its own length, or cropping it to its own extent, gives the strip itself, and Textual
8.2 caches that too: the strip then refers to itself through its cache, a reference cycle. Such
a strip is not freed when the last line referring to it goes (a log line scrolled out of the
scrollback, a panel drawn again) but only by the cycle collector's full passes, and in a long
session these were most of what those passes walked: about 4,000 strips, with their segments
and 29,000 caches, every 130 steps of the soak.

Here both return the strip itself without caching it: the same results, and lines that
refcounting frees.

**Component styles.** Each time a widget with component classes is styled again (an input
gaining or losing focus, a pane's status class changing), Textual makes a new virtual node per
component class to hold its styles, and drops the old ones: each a node and its styles referring
to each other, about 45 objects. The session input, a TextArea, has ten. Here a widget keeps its
virtual nodes and has them styled again: the same styles, and the same refresh when they change.

**Caches cleared.** Textual's `LRUCache` keeps its entries in a ring of links, each referring to
its neighbours; `clear()` dropped the ring whole, a cycle holding every cached line (a log clears
its line cache at each write: about 3,800 links every 300 steps of the soak). Here `clear()`
empties each link first, so the entries go as the cache lets go of them.

Switched off, with the other overrides, by `TXPLAY_TEXTUAL_PRIVATE=0`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.cache import LRUCache
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode
from textual.strip import Strip

_installed = False


def install() -> None:
    """Patch `Strip.divide`, `Strip.crop_extend`, `Stylesheet._process_component_classes` and
    `LRUCache.clear` (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    _lines()
    _caches()
    Stylesheet._process_component_classes = _styled_component_nodes  # type: ignore[method-assign]


def _lines() -> None:
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


_COMPONENT_NODES = "_txplay_component_nodes"


def _styled_component_nodes(self: Stylesheet, node: DOMNode) -> None:
    """Textual's `_process_component_classes`, with each component's virtual node kept and styled
    again rather than made anew (the node refreshes when a component's styles changed, as there)."""
    component_classes = node._get_component_classes()
    if not component_classes:
        return
    kept: dict[str, DOMNode] = node.__dict__.setdefault(_COMPONENT_NODES, {})
    old_component_styles = node._component_styles.copy()
    node._component_styles.clear()
    refresh_node = False
    for component in sorted(component_classes):
        virtual_node = kept.get(component)
        before = None
        if virtual_node is None:
            virtual_node = kept[component] = DOMNode(classes=component)
            virtual_node._attach(node)
        else:
            styles = virtual_node.styles
            before = (dict(styles._base_styles._rules), dict(styles._inline_styles._rules))
        self.apply(virtual_node, animate=False)
        styles = virtual_node.styles
        if not refresh_node:
            old = old_component_styles.get(component)
            if old is not styles:
                refresh_node = old != styles
            else:
                refresh_node = before != (styles._base_styles._rules, styles._inline_styles._rules)
        node._component_styles[component] = styles
    if refresh_node:
        node.refresh()


def _caches() -> None:
    clear = LRUCache.clear

    def acyclic_clear(self: LRUCache) -> None:
        for link in self._cache.values():
            link.clear()  # [previous, next, key, value]: the ring's links referred to each other
        clear(self)

    LRUCache.clear = acyclic_clear  # type: ignore[method-assign]
