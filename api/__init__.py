"""The HTTP service and the ``lotledger`` command line: a thin layer over ``ledger``."""
