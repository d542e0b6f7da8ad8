"""Kafka: the event envelope, the outbox and its relay, topics, and the consumers."""
