"""Canonicalizer and views: one versioned normaliser for list terms and inputs alike."""
