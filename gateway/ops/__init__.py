"""Running it: health, metrics, logs, middlewares, background tasks, embedded servers."""
