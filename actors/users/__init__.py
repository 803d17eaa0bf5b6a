"""User profiles and credentials: stored in the user's partition, email kept unique."""
