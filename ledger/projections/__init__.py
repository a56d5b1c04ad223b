"""The read models built from the log: the batch projector (``projector``), the order rules
(``orders``), the stock flows (``flows``) and the state dataclasses they share (``state``)."""
