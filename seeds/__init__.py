"""Demo data for Comanda."""
