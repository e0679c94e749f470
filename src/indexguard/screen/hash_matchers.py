"""Hash banks as the Screener's matchers: exact identities and perceptual (PDQ) image hashes."""

from __future__ import annotations

from collections.abc import Sequence

from indexguard.errors import IndexguardError
from indexguard.lists.packed_bank import AnyBank, PackedBank
from indexguard.match.hash_set import ExactHashSet, ImageBankSet, ImagePolicy, ImageQuery
from indexguard.match.hit import Hit


class HashIdentities:
    """Exact hash banks (file hashes, infohashes, BEP 47 sha1, pieces roots, NZB ids) by identity type."""

    def __init__(self, banks: Sequence[AnyBank]) -> None:
        self._set = ExactHashSet(banks)

    def match_identities(self, identities: dict[str, list[str]]) -> list[Hit]:
        hits: list[Hit] = []
        for kind, values in identities.items():
            for v in values:
                try:
                    hits += self._set.lookup(kind, v)
                except IndexguardError:
                    continue  # an identity type or shape no bank holds
        return hits


class PdqMatcher:
    """PDQ banks with the image policy: review on a perceptual hit, no verdict below the quality floor."""

    def __init__(self, banks: Sequence[AnyBank], policy: ImagePolicy | None = None) -> None:
        self.banks = ImageBankSet([b for b in banks if has_pdq(b)], policy)

    def match_pdq(self, pdq: str, quality: int | None) -> list[Hit]:
        try:
            return self.banks.match_image(ImageQuery(pdq=pdq, quality=quality)).hits
        except IndexguardError as e:
            return [Hit("indexguard", "", "unreadable-pdq", "error", "review", "pdq", None,
                        {"detail": f"PDQ hash cannot be read: {e}"})]


def hash_matchers(banks: Sequence[AnyBank]) -> tuple[list[HashIdentities], list[PdqMatcher]]:
    """The identity and image matchers for a set of banks (empty lists when there are none)."""
    banks = list(banks)
    if not banks:
        return [], []
    pdq = [PdqMatcher(banks)] if any(has_pdq(b) for b in banks) else []
    return [HashIdentities(banks)], pdq


def has_pdq(bank: AnyBank) -> bool:
    if isinstance(bank, PackedBank):
        return bank.count("pdq") > 0
    return any(e.hash_type == "pdq" for e in bank.entries)
