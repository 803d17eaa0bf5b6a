"""The ledger: event log, read models and the orchestration around the money rules (no Ray here)."""
