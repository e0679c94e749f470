"""List formats and loaded lists: terms, hashes, URLs, allowlists."""
