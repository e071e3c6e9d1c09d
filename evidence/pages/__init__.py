"""The pages stage: citations (CSL), Jinja2 rendering and the packaged templates and styles."""
