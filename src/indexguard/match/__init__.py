"""Matchers: terms (Hyperscan or Aho-Corasick), exact hashes, PDQ, URLs."""
