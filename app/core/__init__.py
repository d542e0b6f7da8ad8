"""The core every layer stands on: settings, the database and its schema, errors, the
order's state machines, the event envelope, correlation ids and logging. It imports no
other part of Comanda."""
