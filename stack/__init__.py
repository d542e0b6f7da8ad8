"""Local services for Comanda: PostgreSQL, Kafka and RabbitMQ as private processes, plus the
app processes under supervisord. Run with ``.venv/bin/python -m stack <command>``."""
