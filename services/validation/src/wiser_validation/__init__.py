"""wiser_validation: decides whether a packet goes to clinical review, to ops for correction, or is dismissed."""
