"""The `exporter` process: gauges computed from PostgreSQL and Kafka, for Prometheus."""
