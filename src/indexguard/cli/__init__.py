"""The `indexguard` command line."""
