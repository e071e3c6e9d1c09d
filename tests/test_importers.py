"""Importing BibTeX, RIS, CSL-JSON and MEDLINE; keys; duplicates; all-or-nothing writes."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import DATA, EXAMPLE_REFS
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.cli import cli
from evidence.curation.importers import (
    Record,
    base_key,
    detect_format,
    plan_import,
    read_records,
    to_bibtex,
    unique_key,
)
from evidence.errors import EvidenceError
from evidence.library.files import parse_bib_text
from evidence.library.table import frame_from_rows, load_table

CURATION = DATA / "curation"


def empty():
    return frame_from_rows([])


def test_detects_each_format():
    assert detect_format((CURATION / "database.ris").read_text()) == "ris"
    assert detect_format((CURATION / "pubmed.nbib").read_text()) == "medline"
    assert detect_format((CURATION / "zotero.json").read_text()) == "csljson"
    assert detect_format("% c\n@article{x, title={T}}") == "bibtex"
    with pytest.raises(EvidenceError, match="cannot tell the format"):
        detect_format("just some text")


def test_medline_fields():
    first, second = read_records((CURATION / "pubmed.nbib").read_text())
    assert first.fields["author"] == "Cui, Yan and Wang, Yuping and Liu, Zhaolan"
    assert first.fields["pmid"] == "18843716" and first.fields["doi"] == "10.1002/14651858.CD006457.pub2"
    assert (first.fields["year"], first.fields["month"]) == ("2008", "oct")
    assert first.fields["abstract"].endswith("OBJECTIVES: To assess the efficacy of acupuncture.")
    assert first.fields["keywords"] == "acupuncture; restless legs"
    assert second.fields["pages"] == "10--14"


def test_ris_and_csljson_fields():
    tan, park = read_records((CURATION / "database.ris").read_text())
    assert park.fields["author"] == "Park, S. and Kim, H." and park.fields["year"] == "2011"
    assert park.fields["pages"] == "5--9" and park.fields["doi"] == "10.1000/sleep.2011.5"
    zot1, zot2 = read_records((CURATION / "zotero.json").read_text())
    assert zot1.key == "zot1" and zot1.fields["author"] == "Nguyen, An and {RLS Study Group}"
    assert (zot1.fields["year"], zot1.fields["month"], zot1.fields["pages"]) == ("2019", "may", "100--108")
    assert zot2.entry_type == "incollection" and zot2.fields["booktitle"] == "Handbook of Sleep"


def test_keys_follow_the_pattern_and_suffix_on_collision():
    record = Record("article", {"author": "Wang, D. Y.", "year": "1994", "title": "Observation on clinic effect"})
    assert base_key(record) == "wang1994observation"
    assert (
        base_key(Record("article", {"author": 'M{\\"u}ller, H.', "title": "The effect", "year": "2001"}))
        == "muller2001effect"
    )
    assert unique_key("wang1994observation", {"wang1994observation", "wang1994observationa"}) == "wang1994observationb"


@pytest.mark.parametrize("name", ["database.ris", "zotero.json", "pubmed.nbib"])
def test_import_into_empty_library_and_export_back(tmp_path, name):
    target = tmp_path / "new.bib"
    runner = CliRunner()
    added = runner.invoke(cli, ["add", "--refs", str(tmp_path / "none"), str(CURATION / name), "--to", str(target)])
    assert added.exit_code == 0, added.output
    records = read_records((CURATION / name).read_text())
    table = load_table([target], use_cache=False).table
    assert len(table) == len(records)
    exported = runner.invoke(cli, ["export", "--refs", str(target), "--no-cache", "--format", "csljson"])
    items = json.loads(exported.stdout)
    for record, item in zip(records, items):
        assert item["title"].rstrip(".") == record.fields["title"].rstrip(".")
        assert item["issued"]["date-parts"][0][0] == int(record.fields["year"])
        for field, csl in (("doi", "DOI"), ("pmid", "PMID"), ("volume", "volume")):
            if field in record.fields:
                assert item[csl] == record.fields[field]
        families = [a.get("family") for a in item["author"]]
        assert families[0] and families[0] in record.fields["author"].replace('\\"u', "ü").replace("{", "").replace(
            "}", ""
        )
    ris = runner.invoke(cli, ["export", "--refs", str(target), "--no-cache", "--format", "ris"]).stdout
    again = read_records(ris, "ris")
    assert [r.fields.get("title") for r in again] == [r.fields.get("title") for r in records]


def test_duplicates_of_library_entries_are_skipped(tmp_path):
    table = load_table([EXAMPLE_REFS], use_cache=False).table
    records = read_records((CURATION / "pubmed.nbib").read_text()) + read_records(
        (CURATION / "database.ris").read_text()
    )
    plan = plan_import(records, table)
    assert [key for key, _ in plan.added] == ["muller2020another", "park2011effect"]
    assert plan.skipped == [
        "Acupuncture for restless legs syndrome.: already in the library as cui2008",
        "Treatment of 38 cases of RLS with electroacupuncture and massage: already in the library as tan2005",
    ]
    assert len(plan_import(records, table, allow_duplicates=True).added) == 4
    twice = plan_import(records[:1] + records[:1], empty())
    assert len(twice.added) == 1 and "already in the library as cui2008acupuncture" in twice.skipped[0]


def test_bibtex_import_keeps_keys_and_text(tmp_path):
    source = (CURATION / "real-world.bib").read_text()
    plan = plan_import(read_records(source), empty())
    assert [k for k, _ in plan.added] == ["muller2001", "plain2010", "last2020"]
    assert plan.added[1][1] in source


def test_a_failing_source_changes_nothing(tmp_path):
    target = tmp_path / "lib.bib"
    shutil.copyfile(CURATION / "real-world.bib", target)
    before = target.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "ok"}, ')
    result = CliRunner().invoke(
        cli, ["add", "--refs", str(target), str(CURATION / "database.ris"), str(bad), "--to", str(target)]
    )
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    assert target.read_bytes() == before


def test_dry_run_and_stdin(tmp_path):
    target = tmp_path / "lib.bib"
    text = (CURATION / "database.ris").read_text()
    dry = CliRunner().invoke(cli, ["add", "--refs", str(tmp_path), "-", "--to", str(target), "--dry-run"], input=text)
    assert dry.exit_code == 0 and dry.stdout.startswith("@article{tan2005treatment,")
    assert "would add 2 entries" in dry.stderr and not target.exists()


def test_generated_bibtex_escapes_and_parses():
    record = Record("article", {"title": "50% of A & B #1", "year": "2000", "doi": "10.1/a%b"})
    text = to_bibtex(record, "k")
    (entry,), problems = parse_bib_text(text, "x")
    assert problems == [] and entry.fields["title"] == "50\\% of A \\& B \\#1" and entry.fields["doi"] == "10.1/a%b"


names = st.from_regex(r"[A-Z][a-z]{1,10}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    names,
    st.integers(1900, 2030),
    st.lists(st.from_regex(r"[A-Za-z]{1,10}", fullmatch=True), min_size=1, max_size=6),
    st.sets(st.from_regex(r"[a-z0-9]{3,20}", fullmatch=True), max_size=5),
)
def test_keys_are_ascii_unique_and_follow_the_pattern(family, year, words, taken):
    record = Record("article", {"author": f"{family}, A.", "year": str(year), "title": " ".join(words)})
    key = unique_key(base_key(record), set(taken))
    assert key not in taken and key.isascii()
    assert key.startswith(f"{family.lower()}{year}")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["ris", "csljson", "medline", "bibtex", "auto"]))
def test_readers_raise_only_evidence_errors(text, fmt):
    try:
        read_records(text, fmt)
    except EvidenceError:
        pass


# --- round trips, partial imports, encodings ------------------------------------

ROUND_TRIP_COLUMNS = [
    "authors",
    "year",
    "month",
    "title",
    "container",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "keywords",
    "note",
    "condition",
    "intervention",
    "comparator",
    "design",
    "country",
    "n",
    "responders",
    "response_rate",
    "response_rate_bound",
    "response_rate_ci_low",
    "response_rate_ci_high",
    "control_n",
    "control_responders",
    "control_response_rate",
    "response_definition",
    "extracted_from",
    "data_source",
]


@pytest.mark.parametrize("fmt", ["csljson", "ris", "csv"])
def test_export_then_add_gives_back_the_same_entries(tmp_path, fmt):
    exported = tmp_path / f"out.{fmt}"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["export", "--refs", str(EXAMPLE_REFS), "--no-cache", "--format", fmt, "-o", str(exported)]
    )
    assert result.exit_code == 0, result.output
    target = tmp_path / "back.bib"
    added = runner.invoke(cli, ["add", "--refs", str(tmp_path / "none"), str(exported), "--to", str(target), "-q"])
    assert added.exit_code == 0, added.output
    original = load_table([EXAMPLE_REFS], use_cache=False).table
    back = load_table([target], use_cache=False).table
    assert list(back.index) == list(original.index)  # same keys, none invented
    for column in ROUND_TRIP_COLUMNS:
        assert back[column].astype(str).tolist() == original[column].astype(str).tolist(), column


ORGANISATIONS = """@article{who2020,
  author = {{World Health Organization} and Smith, John and others},
  title = {Guidelines}, journal = {J}, year = {2020}, month = {feb}, pmid = {123456},
  note = {A note}, n = {40}, responders = {20},
}
"""


def test_ris_export_has_no_numbering_and_keeps_key_pmid_month_notes(write_bib):
    from evidence.curation.export import export_table

    table = load_table([write_bib(ORGANISATIONS)], use_cache=False).table
    ris = export_table(table, "ris")
    lines = ris.splitlines()
    assert lines[0] == "TY  - JOUR" and not any(line.rstrip(".").isdigit() for line in lines)
    for expected in (
        "ID  - who2020",
        "AN  - 123456",
        "DA  - 2020/02//",
        "N1  - A note",
        "N1  - n: 40",
        "AU  - World Health Organization",
        "AU  - Smith, John",
        "AU  - others",
    ):
        assert expected in lines
    (record,) = read_records(ris, "ris")
    assert record.key == "who2020" and record.fields["pmid"] == "123456" and record.fields["month"] == "feb"
    assert record.fields["author"] == "{World Health Organization} and Smith, John and others"
    assert record.fields["note"] == "A note" and record.fields["n"] == "40" and record.fields["responders"] == "20"


def test_csljson_export_keeps_outcomes_in_custom_and_note_and_names_whole(write_bib):
    from evidence.curation.export import export_table

    table = load_table([write_bib(ORGANISATIONS)], use_cache=False).table
    (item,) = json.loads(export_table(table, "csljson"))
    assert item["custom"] == {"n": "40", "responders": "20"}
    assert item["note"] == "A note\nn: 40\nresponders: 20"
    assert item["author"] == [
        {"literal": "World Health Organization"},
        {"family": "Smith", "given": "John"},
        {"literal": "others"},
    ]
    (record,) = read_records(json.dumps([item]), "csljson")
    assert record.fields["author"] == "{World Health Organization} and Smith, John and others"
    assert record.fields["note"] == "A note" and record.fields["n"] == "40"
    assert (record.key, record.fields["month"], record.fields["pmid"]) == ("who2020", "feb", "123456")


def test_zotero_style_note_lines_become_fields():
    item = {"id": "z", "type": "article-journal", "title": "T", "note": "responders: 5\nn: 10\nSomething else"}
    (record,) = read_records(json.dumps([item]), "csljson")
    assert record.fields["n"] == "10" and record.fields["responders"] == "5"
    assert record.fields["note"] == "Something else"


PARTLY_BAD = """@article{good1, author = {A, B}, title = {Good one}, journal = {J}, year = {2001}}

@article{badvalue, author = {C, D}, title = {Bad value}, journal = {J}, year = {2002},
  responders = {abc}, response_rate = {120}}

@article{broken, author = {E, F}, title = {Unbalanced {brace}, journal = {J}, year = {2003}}

@article{good2, author = {G, H}, title = {Good two}, journal = {J}, year = {2004}}
"""


def test_one_bad_entry_does_not_sink_an_import(tmp_path, write_bib):
    source = write_bib(PARTLY_BAD, "source.bib")
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(cli, ["add", "--refs", str(tmp_path / "none"), str(source), "--to", str(target)])
    assert result.exit_code == 1, result.output
    keys = [e.key for e in parse_bib_text(target.read_text(), "t")[0]]
    assert keys == ["good1", "good2"]
    assert f"{source}:6: broken: error: entry not closed" in result.stderr
    assert f"{source}:3: badvalue: error: responders must be a whole number" in result.stderr
    assert "response_rate" in result.stderr
    assert "not imported" in result.stderr


def test_all_or_nothing_keeps_the_old_behaviour(tmp_path, write_bib):
    source = write_bib(PARTLY_BAD, "source.bib")
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(
        cli, ["add", "--refs", str(tmp_path / "none"), str(source), "--to", str(target), "--all-or-nothing"]
    )
    assert result.exit_code == 2 and "nothing was added" in result.stderr
    assert not target.exists()


def test_outcome_values_are_checked_as_set_checks_them():
    from evidence.curation.importers import record_problems

    record = Record("article", {"title": "T", "n": "10", "responders": "12"}, "k", source="s.ris", line=7)
    (problem,) = record_problems(record)
    assert (problem.file, problem.line, problem.key, problem.severity) == ("s.ris", 7, "k", "error")
    assert "responders" in problem.message


def test_add_reads_a_latin1_file_with_a_warning(tmp_path):
    source = tmp_path / "latin.bib"
    source.write_bytes(
        "% Encoding: ISO8859_1\n@article{caf1, title = {Caf\u00e9 society}, year = {2001}}\n".encode("latin-1")
    )
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(cli, ["add", "--refs", str(tmp_path / "none"), str(source), "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert "not UTF-8: read as ISO8859_1 (declared in the file)" in result.stderr
    assert "Caf\u00e9 society" in target.read_text(encoding="utf-8")


def test_add_of_a_missing_file_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["add", str(tmp_path / "nope.ris"), "--to", str(tmp_path / "lib.bib")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.ris'}: no such file\n"


def test_add_doi_already_in_the_library_is_not_fetched(tmp_path):
    # the Crossref URL points at a closed port: a fetch would fail with "cannot reach Crossref"
    result = CliRunner().invoke(
        cli,
        [
            "add",
            "--refs",
            str(EXAMPLE_REFS),
            "--no-cache",
            "--to",
            str(tmp_path / "x.bib"),
            "--doi",
            "10.1002/14651858.CD006457.PUB2",
            "--crossref-url",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "already in the library as cui2008; not fetched" in result.stderr


def test_a_csv_that_is_not_an_export_names_the_file(tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_text("key,name\nx,y\n")
    with pytest.raises(EvidenceError, match=f"{bad}:1: not an evidence CSV export"):
        read_records(bad.read_text(), "csv", str(bad))
    result = CliRunner().invoke(cli, ["add", str(bad), "--to", str(tmp_path / "lib.bib")])
    assert result.exit_code == 2 and str(bad) in result.stderr


def test_trailing_and_is_not_a_name_on_import():
    (record,) = read_records("TY  - JOUR\nAU  - Smith, J.\nTI  - T\nPY  - 2000\nER  - \n", "ris")
    assert record.fields["author"] == "Smith, J."
    names = [n.family for n in __import__("evidence.library.normalise", fromlist=["x"]).split_names("Smith, J. and")]
    assert names == ["Smith"]


from evidence.curation.importers import plain_to_bibtex
from evidence.library.normalise import decode_latex


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab -`'$%&#~^_{}\\\u00e9\u2013.,;")), max_size=30))
def test_plain_text_survives_the_trip_through_bibtex(text: str):
    escaped = plain_to_bibtex(text)
    parsed, problems = parse_bib_text("@misc{k, title = {" + escaped + "}}", "x")
    assert problems == []
    kept = text if _balanced_braces(text) else text.replace("{", "").replace("}", "")
    expected = " ".join(kept.split())
    assert decode_latex(parsed[0].fields["title"]) == expected


def _balanced_braces(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


ODD = """@article{Smith&Co'99:x, author = {{Weir, Jr.}, Thomas E. and Stewart, Jr., Thomas W.}, title = {T},
  journal = {J}, year = {380}, url = {http://x.org/a?b=1;c=2}, keywords = {Printing, Practical; Type},
  pages = {968 - 980}, note = {line one\r\nline two}}
"""


@pytest.mark.parametrize("fmt", ["csljson", "ris", "csv"])
def test_round_trip_of_odd_keys_urls_keywords_and_suffixes(write_bib, fmt):
    from evidence.curation.export import export_table

    table = load_table([write_bib(ODD)], use_cache=False).table
    (record,) = read_records(export_table(table, fmt), fmt, "x")
    assert record.key == "Smith&Co'99:x"
    ((key, text),) = plan_import([record], empty(), allow_duplicates=True).added
    (row,) = frame_from_rows(
        [__import__("evidence.library.table", fromlist=["x"]).entry_record(parse_bib_text(text, "y")[0][0])[0]]
    ).to_dict("records")
    original = table.iloc[0]
    assert row["url"] == original["url"] == "http://x.org/a?b=1;c=2"
    assert row["pages"] == original["pages"] == "968-980"
    assert row["year"] == 380
    if fmt != "csv":  # CSV writes names as "family, given"
        assert row["authors"][1] == {"family": "Stewart", "given": "Thomas W.", "suffix": "Jr."}
    assert list(row["keywords"]) == ["Printing, Practical", "Type"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
csl_keys = st.sampled_from(
    ["id", "type", "author", "title", "issued", "page", "custom", "note", "container-title", "DOI", "keyword"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(csl_keys, json_values, max_size=6), min_size=1, max_size=3))
def test_csl_items_of_any_shape_are_read_or_reported(items):
    try:
        records, problems = __import__("evidence.curation.importers", fromlist=["x"]).read_source_records(
            json.dumps(items), "csljson", "x.json"
        )
    except EvidenceError:
        return
    assert len(records) + len(problems) == len(items)
    plan_import(records, empty(), allow_duplicates=True)
