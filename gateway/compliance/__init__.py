"""Keywords, preferences, do-not-disturb, limits, rate monitoring."""
