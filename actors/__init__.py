"""The actor side of the order processor: money rules, the ledger and the Ray shard actors.

Nothing here imports ``serve``; the HTTP layer depends on this package, never the reverse.
"""
