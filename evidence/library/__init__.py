"""The library stage: finding and parsing .bib files, normalising values, the outcome-field schema,
the typed evidence table and its cache, and the checks over it."""
