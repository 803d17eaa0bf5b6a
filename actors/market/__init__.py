"""Prices: the catalogue, the price feed actor and its sources."""
