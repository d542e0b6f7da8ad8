"""Payments: the (simulated) card gateway the pipeline authorizes, captures and voids by."""
