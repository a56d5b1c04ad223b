"""Organisations, locations and products (``registry`` writes them, ``directory`` reads them),
trading terms and order policies (``terms``), API keys (``keys``) and the browser sessions
made from them (``sessions``)."""
