"""The lot graph: the walk forward and backward over shipments and transformations (``graph``)
and the rule of which lots an organisation may see (``visibility``). Reads of the tables
only; the projector and the log build on it."""
