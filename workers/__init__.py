"""Celery workers on RabbitMQ: one task per pipeline step, payment follow-ups, sweeps."""
