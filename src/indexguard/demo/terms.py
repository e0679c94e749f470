"""The bundled demo list: placeholder pseudo-words, so the commands and the service work out of the box."""

from __future__ import annotations

from importlib import resources

from indexguard.lists.terms import TermList, parse_term_list

DEMO_LIST_NAME = "demo"


def demo_term_text() -> str:
    return resources.files("indexguard").joinpath("data/demo_terms.txt").read_text("utf-8")


def demo_term_list() -> TermList:
    return parse_term_list(demo_term_text(), DEMO_LIST_NAME, "txt", source="indexguard:data/demo_terms.txt")
