"""Screening: an Item becomes a Decision."""
