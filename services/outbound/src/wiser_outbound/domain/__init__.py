"""Outbound's rules, pure: partner events and signatures, the partner view at a version, retries, channels."""
