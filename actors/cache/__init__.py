"""Redis: the read cache and its circuit breaker."""
