"""The texts a reader may read in one stored string, besides the string itself.

Each derived view exists only when a cheap pre-check says it can differ from the stored text, so the
common ASCII title costs three character searches:

- `markup`: HTML character references decoded, HTML and BBCode tags removed (text/markup.py);
- `display-order`: the visual order of bidirectional text (text/bidi.py), after rendering;
- `transliterated`: other scripts read aloud in Latin letters (text/transliterate.py), of what is
  displayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexguard.text.bidi import display_order
from indexguard.text.markup import may_have_markup, render
from indexguard.text.rendered import Rendered
from indexguard.text.transliterate import Transliterator


@dataclass(frozen=True, slots=True)
class View:
    name: str
    rendered: Rendered


class ViewBuilder:
    """Derived views of a text, each re-indexed to the stored text. Caches per code point."""

    def __init__(self) -> None:
        self._translit = Transliterator()

    def derived(self, text: str) -> list[View]:
        if text.isascii() and not may_have_markup(text):
            # The common case: ASCII text only ever differs from what is shown through markup.
            return []
        out: list[View] = []
        shown: Rendered | None = None
        if (markup := render(text)) is not None:
            out.append(View("markup", markup))
            shown = markup
        base = text if shown is None else shown.text
        if (visual := display_order(base)) is not None:
            shown = visual.after(shown)
            out.append(View("display-order", shown))
            base = shown.text
        for sound in self._translit.views(base):
            out.append(View("transliterated", sound.after(shown)))
        return out
