"""Fault controls for demonstrations (COMANDA_DEMO=1): stop and start the stack's own
processes, slow the payment gateway, run a traffic generator. Never in production."""
