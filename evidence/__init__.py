"""evidence: the studies behind health claims, as structured, checkable data.

The package is a pipeline: ``.bib`` text -> entries (``library``) -> the
evidence table (``table``) -> queries (``query``) -> summaries and pages
(``summary``, ``render``) or audits (``audit``).  The command-line tool in
``evidence.cli`` is a thin layer over these modules.
"""

__version__ = "0.1.0"
