"""The undecorated view: pictographs and symbols set inside a word (`bi★zu`, `bi😀zu`) read through.

A reader skips a star or an emoji typed between two letters and reads the word around it. Only
non-ASCII symbols (emoji, dingbats, stars, hearts) count: an ASCII `*` or `#` inside a word usually
hides a letter rather than decorating it. A symbol with a space on either side still separates words.
"""

from __future__ import annotations

import regex

from indexguard.text.rendered import Rendered

# A run of non-ASCII symbols (with any marks, variation selectors or joiners they carry) between letters.
_INFIX = regex.compile(r"(?<=\p{L}\p{M}*)(?:[\p{S}--\p{ASCII}][\p{M}\p{Cf}]*)+(?=\p{L})", regex.V1)


def undecorated(text: str) -> Rendered | None:
    """`text` without symbols set between two letters; None when there are none."""
    if text.isascii():
        return None
    spans = [m.span() for m in _INFIX.finditer(text)]
    if not spans:
        return None
    keep: list[int] = []
    pos = 0
    for start, end in [*spans, (len(text), len(text))]:
        keep.extend(range(pos, start))
        pos = end
    return Rendered.of("".join(text[i] for i in keep), keep)
