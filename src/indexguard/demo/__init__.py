"""Placeholder demo data (terms, cases) for the first start and the docs: no product code depends on it."""
