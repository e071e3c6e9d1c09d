"""Real files written by others (tests/data/corpus): biblatex, names, encodings, and the fidelity benchmark."""

from __future__ import annotations

import codecs
import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import DATA, ROOT

from evidence.library.files import decode_bib_bytes, parse_bib_text
from evidence.library.table import inherit_fields, read_file_rows

CORPUS = DATA / "corpus"


def rows_by_key(name: str) -> dict[str, dict]:
    rows, _ = read_file_rows(CORPUS / name)
    return {row["key"]: row for row in rows}


def test_biblatex_examples_date_crossref_and_journaltitle():
    rows = rows_by_key("biblatex-examples.bib")
    space = rows["westfahl:space"]  # crossref to a @collection: its title is the container, its date the year
    assert (space["year"], space["container"], space["title"]) == (2000, "Space and Beyond", "The True Frontier")
    assert rows["sigfridsson"]["container"] == "Journal of Computational Chemistry"  # journaltitle
    assert rows["itzhaki"]["year"] == 1996 and rows["itzhaki"]["month"] == 3  # date = {1996-03-25}
    assert rows["aksin"]["authors"][0] == {"family": "Aks\u0131n", "given": "\u00d6zge"}
    assert rows["geer"]["title"] == "Earl, Saint, Bishop, Skald\u00a0\u2013 and Music"  # ~-- : a tie, then an en dash
    entries = parse_bib_text((CORPUS / "biblatex-examples.bib").read_text(), "x")[0]
    with_date = [e.key for e in entries if "date" in e.fields and "year" not in e.fields]
    assert len(with_date) > 50 and all(rows[key]["year"] is not None for key in with_date)


def test_biblatex_examples_check_has_no_missing_years():
    _, problems = read_file_rows(CORPUS / "biblatex-examples.bib")
    assert not [p for p in problems if "year" in p.message]


def test_biber_names_every_form():
    rows = rows_by_key("biber-names.bib")
    assert rows["L1id"]["authors"] == [{"family": "Adler", "given": "Alfred"}]  # extended name format, with id=
    assert rows["L5"]["authors"] == [{"family": "von Eel", "given": "Egbert"}]
    assert rows["L9"]["authors"] == [{"family": "Iliad Ipswich", "given": "Ian"}]
    assert rows["L10"]["authors"] == [{"family": "Jolly", "given": "James", "suffix": "III"}]
    families = [a["family"] for r in rows.values() for a in r["authors"]]
    assert not [f for f in families if "\\" in f or "=" in f]


def test_latin1_without_header_and_cp1252_with_jabref_header_load_every_entry():
    rows, problems = read_file_rows(CORPUS / "musuos-bsp-latin1.bib")
    assert len(rows) == len(parse_bib_text((CORPUS / "musuos-bsp-latin1.bib").read_bytes().decode("latin-1"), "x")[0])
    assert rows[0]["authors"] == [{"family": "M\u00fcller", "given": "Peter"}]
    assert problems[0].severity == "warning" and "read as cp1252" in problems[0].message
    rows, problems = read_file_rows(CORPUS / "jabref-windows-1252-with-header.bib")
    assert rows[0]["abstract"] == "25\u00b0 C"
    assert "read as windows-1252 (declared in the file)" in problems[0].message


def test_math_in_lncs_titles_becomes_unicode():
    rows = rows_by_key("biblatex-lncs-test.bib")
    titles = [r["title"] for r in rows.values()]
    assert "Subharmonic solutions for Hamiltonian systems via a \u2124\u209a pseudoindex theory" in titles
    assert not [t for t in titles if "$" in t or "\\" in t]


def test_braced_accents_in_names():
    (row,) = rows_by_key("sphinxcontrib-special-chars.bib").values()
    assert [a["family"] for a in row["authors"]] == ["Serrano", "Bogu\u00f1\u00e1", "Vespignani"]
    assert row["authors"][0]["given"] == "M. \u00c1ngeles"


def test_utf16_without_bom_is_detected():
    text = "@article{k, title = {Caf\u00e9}, year = {2001}}\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        decoded, problem = decode_bib_bytes(text.encode(encoding), "u.bib")
        assert decoded == text and problem is not None and "UTF-16" in problem.message
    decoded, problem = decode_bib_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "u.bib")
    assert decoded == text and problem is None


def test_inheritance_rules(tmp_path: Path):
    text = """
@proceedings{proc, title = {Proc. of X}, year = {1999}, publisher = {ACM}, editor = {Smith, A.}, shorttitle = {PX}}
@inproceedings{child, title = {Paper}, crossref = {PROC}, year = {2000}}
@periodical{per, title = {The Journal}, year = {2001}}
@article{art, title = {Art}, crossref = {per}}
@xdata{pub, publisher = {Springer}, location = {Berlin}}
@book{b, title = {B}, xdata = {pub}, year = {2002}}
@inproceedings{loop1, title = {L}, crossref = {loop2}}
@inproceedings{loop2, title = {M}, crossref = {loop1}}
"""
    entries = {e.key: e for e in inherit_fields(parse_bib_text(text, "x.bib")[0])}
    child = entries["child"].fields
    assert child["booktitle"] == "Proc. of X" and child["title"] == "Paper" and child["year"] == "2000"
    assert child["publisher"] == "ACM" and child["editor"] == "Smith, A." and "shorttitle" not in child
    assert entries["art"].fields["journaltitle"] == "The Journal"
    assert entries["b"].fields["location"] == "Berlin"
    assert entries["loop1"].fields["title"] == "L"  # a crossref loop stops, it does not hang
    assert entries["child"].raw.count("crossref") == 1  # the entry's own text is unchanged


def _fidelity_module():
    spec = importlib.util.spec_from_file_location("fidelity", ROOT / "bench" / "fidelity.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("round_trip", [True])
def test_fidelity_benchmark_on_the_sample(round_trip: bool):
    fidelity = _fidelity_module()
    figures = fidelity.run(CORPUS, round_trip)
    assert figures.files == 6 and figures.crashes == [] and figures.entries_lost == 0
    assert figures.undecodable == [] and figures.encodings["utf-8"] == 4
    assert figures.date_gave_year == figures.date_without_year > 0
    assert figures.crossref_with_year == figures.crossref_children > 0
    for fmt in fidelity.ROUND_TRIP_FORMATS:
        assert figures.round_trip_keys_lost[fmt] == 0, fmt
        for column in ("year", "title", "doi", "pages", "volume"):
            assert figures.round_trip_losses[fmt][column] == 0, (fmt, column, figures.round_trip_examples)
    report = fidelity.markdown(figures, CORPUS)
    assert "| crashes | 0 |" in report


def test_ascii_utf16_without_bom_is_not_loaded_as_nothing(tmp_path: Path):
    text = "@article{k1, title = {Plain}, year = {2001}}\n@article{k2, title = {More}, year = {2002}}\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.bib"
        path.write_bytes(text.encode(encoding))
        rows, problems = read_file_rows(path)
        assert [r["key"] for r in rows] == ["k1", "k2"]
        assert problems[0].severity == "warning" and "UTF-16" in problems[0].message
