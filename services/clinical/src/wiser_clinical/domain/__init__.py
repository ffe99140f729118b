"""Clinical review's rules: pure functions over plain data (no I/O, no frameworks)."""
