"""The relay rules, pure: no aiohttp, no I/O."""
