"""evidence: the studies behind health claims, as structured, checkable data.

The public API is :class:`Library` (``evidence/api.py``); the command line in
``evidence.cli`` is a thin shell over it.  Inside, data flows one way, and
the sub-packages are its stages:

* ``evidence.library``: .bib files -> entries -> the typed evidence table (and its cache and checks)
* ``evidence.analysis``: queries over the table, statistics, certainty, the summary data
* ``evidence.pages``: citations and Jinja2 rendering of paragraphs and condition pages
* ``evidence.audit``: claims found in pages, matched to references and judged against the table
* ``evidence.curation``: edits, imports, exports and network look-ups that change the .bib files
"""

from evidence.api import Library
from evidence.errors import EvidenceError, Problem

__version__ = "0.1.0"
__all__ = ["EvidenceError", "Library", "Problem", "__version__"]
