"""wiser_gateway: the only door for people: sign-in, roles, audit, dashboards, forwarding with identity tokens."""
