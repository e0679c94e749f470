"""Deterrence that is measured without watching anyone: message variants, counting by rotating keyed
session hashes, A/B statistics and the reports built from them."""
