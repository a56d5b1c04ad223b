"""The log as C2SP tiles: the read API, ``tiles sync`` and Go's tlog reading them."""
