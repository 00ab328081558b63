"""Numbers (countries, line types) and one-time codes."""
