"""Curation: byte-exact edits to .bib files, imports, exports and network look-ups."""
