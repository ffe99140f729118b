"""Pure rules of intake: no I/O, no framework imports."""
