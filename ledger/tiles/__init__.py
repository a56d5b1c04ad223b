"""The log as C2SP tlog-tiles: hash tiles and entry bundles read from the stored tree
(``ledger.tiles.store``), and the same tiles written as static files (``ledger.tiles.sync``).

Tile paths, widths and the bundle framing are ``verifier.tiles``'s: one definition for the
server, the static writer and the verifier.
"""

from ledger.tiles.store import EntryTooLarge, TileStore
from ledger.tiles.sync import SyncReport, sync_directory

__all__ = ["EntryTooLarge", "SyncReport", "TileStore", "sync_directory"]
