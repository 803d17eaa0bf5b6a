"""One router per tag."""
