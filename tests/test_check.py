"""Checks across entries, and the exit status rules."""

from __future__ import annotations

from evidence.library.check import check_library, exit_status
from evidence.errors import Problem
from evidence.library.table import load_table

from conftest import EXAMPLE_REFS

DUPLICATES = """
@article{a1, author = {Li, X.}, title = {Acupuncture for restless legs: a trial}, journal = {J}, year = 2004, doi = {10.1/ABC}}
@article{a2, author = {Li, Y.}, title = {Acupuncture for restless legs - a trial.}, journal = {J}, year = 2004}
@article{a3, author = {Wu, Z.}, title = {Other}, journal = {J}, year = 2004, doi = {10.1/abc}, pmid = {123}}
@article{a4, author = {Wu, Z.}, title = {Other again}, journal = {K}, year = 2005, pmid = {123}}
"""


def test_duplicate_identifiers_and_likely_duplicates(write_bib):
    problems = check_library(load_table([write_bib(DUPLICATES)]))
    found = [(p.key, p.severity, p.message) for p in problems]
    assert ("a3", "error", "same DOI 10.1/abc as a1 (" + str(problems[0].file) + ":2)") in found
    assert any(k == "a4" and s == "error" and m.startswith("same PMID 123 as a3") for k, s, m in found)
    assert any(k == "a2" and s == "warning" and "likely duplicate of a1" in m for k, s, m in found)
    assert len(found) == 3


def test_example_library_is_clean():
    assert check_library(load_table([EXAMPLE_REFS])) == []


def test_exit_status():
    warning = Problem("f", 1, "k", "warning", "w")
    error = Problem("f", 1, "k", "error", "e")
    assert exit_status([], strict=True) == 0
    assert exit_status([warning], strict=False) == 0
    assert exit_status([warning], strict=True) == 1
    assert exit_status([warning, error], strict=False) == 2
