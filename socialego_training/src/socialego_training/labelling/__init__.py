"""``socialego-label``: label the person tracks of a dataset in a local web page.

``store`` reads and writes the answers (atomic, resumable, undoable); ``server`` is the page's
small HTTP server (standard library); ``static/`` the page itself (plain JS, no CDN); ``cli`` the
command. See docs/own-data.md, "Labelling your tracks".
"""

from .store import PROVENANCE_KEYS, STATUSES, LabelStore, TrackEntry, write_json_atomic

__all__ = ["PROVENANCE_KEYS", "STATUSES", "LabelStore", "TrackEntry", "write_json_atomic"]
