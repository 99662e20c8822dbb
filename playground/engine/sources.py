"""The source of each Python step, kept in `linecache` so tracebacks show its lines, but not forever.

Every Python step compiles under a pseudo file name of its own; one `linecache` entry per step
made memory grow with history. The last `KEPT` steps' sources stay, and an older one stays as
long as a function or class it defined is alive (a later call may fail inside it).
"""

from __future__ import annotations

import linecache
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from types import CodeType

KEPT = 1000

_recent: deque[tuple[str, tuple[object, ...], list[weakref.ref[CodeType]]]] = deque()
_lock = threading.Lock()  # sessions compile on threads of their own


def register(filename: str, source: str) -> list[weakref.ref[CodeType]]:
    """Put `source` in `linecache` under `filename`; forget the oldest sources nothing needs now.

    Returns the list of what keeps this source past the last `KEPT`: extend it with
    `definitions(...)` of the code compiled from it.
    """
    entry = (len(source), None, source.splitlines(True), filename)
    linecache.cache[filename] = entry
    keepers: list[weakref.ref[CodeType]] = []
    with _lock:
        _recent.append((filename, entry, keepers))
        for _ in range(len(_recent) - KEPT):
            name, kept, refs = _recent.popleft()
            if any(ref() is not None for ref in refs):
                _recent.append((name, kept, refs))  # a function it defined lives on: looked at again later
            elif linecache.cache.get(name) is kept:  # not a newer step's source under the same name
                del linecache.cache[name]
    return keepers


def definitions(*codes: CodeType | None) -> list[weakref.ref[CodeType]]:
    """Weak references to the code of every function, class and comprehension defined in `codes`."""
    return [weakref.ref(code) for top in codes if top is not None for code in _nested(top)]


def _nested(code: CodeType) -> Iterator[CodeType]:
    """The code objects of the functions, classes and comprehensions defined in `code`."""
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const
            yield from _nested(const)
