"""Intents: TMF921-style resources whose expectations follow 3GPP TS 28.312."""
