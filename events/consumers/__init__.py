"""Kafka consumer groups on ``orders``: pipeline hand-off, restaurant feed, admin projection."""
