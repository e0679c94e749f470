"""Shared test fixtures. The read-only fixtures live in ../shared beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared/fixtures and ../shared/schemas; tests that need them skip clearly when absent."""
    if not (SHARED / "fixtures").is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED} (expected beside the checkout)")
    return SHARED
