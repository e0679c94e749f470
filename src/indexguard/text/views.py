"""The texts a reader may read in one stored string, besides the string itself.

Each derived view exists only when a cheap pre-check says it can differ from the stored text, so the
common ASCII title costs three character searches:

- `markup`: HTML character references decoded, HTML and BBCode tags removed (text/markup.py);
- `display-order`: the visual order of bidirectional text (text/bidi.py), after rendering;
- `transliterated`: other scripts read aloud in Latin letters (text/transliterate.py), of what is
  displayed;
- `undecorated`: pictographs and symbols inside a word read through (text/decorations.py);
- `upside-down`: text turned through 180 degrees read the right way up (text/flipped.py);
- `repeated`: letters held for emphasis read once (text/repeats.py), of what is displayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexguard.text.bidi import display_order
from indexguard.text.decorations import undecorated
from indexguard.text.flipped import upside_down
from indexguard.text.markup import may_have_markup, render
from indexguard.text.rendered import Rendered
from indexguard.text.repeats import may_have_repeats, squeezed
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
        if text.isascii() and not may_have_markup(text) and not may_have_repeats(text):
            # The common case: ASCII text only ever differs from what is read through markup or repeats.
            return []
        out: list[View] = []
        shown: Rendered | None = None
        if (markup := render(text)) is not None:
            out.append(View("markup", markup))
            shown = markup
        logical = text if shown is None else shown.text
        logical_source = shown
        base = logical
        if (visual := display_order(base)) is not None:
            shown = visual.after(shown)
            out.append(View("display-order", shown))
            base = shown.text
        if (plain := undecorated(base)) is not None:
            out.append(View("undecorated", plain.after(shown)))
        if (flipped := upside_down(base)) is not None:
            out.append(View("upside-down", flipped.after(shown)))
        # Right-to-left scripts are read in stored (logical) order, others as displayed: both are read aloud.
        for sound in self._translit.views(base):
            out.append(View("transliterated", sound.after(shown)))
        if visual is not None:
            for sound in self._translit.views(logical):
                out.append(View("transliterated", sound.after(logical_source)))
        for squeeze in squeezed(base):
            out.append(View("repeated", squeeze.after(shown)))
        return out
