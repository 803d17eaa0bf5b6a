"""One entry per kind of operation: its command, validate, decide, apply, stored event form, read
models and live event. Adding an operation means adding its domain rule and one entry here."""
