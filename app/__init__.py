"""Comanda's application code, in layers (see README "Architecture"): ``core`` (settings,
database, models, state machines), the domain (``orders``, ``payments``; ``roles`` beside
``app``), and the Flask adapter ``api`` (``app.api.create_app()``). Nothing here imports
anything: importing ``app.core`` must not pull in Flask."""
