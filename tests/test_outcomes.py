"""The long outcome table: loading *.outcomes.csv and the BibTeX shorthand, its checks, and byte-exact edits."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.cli import cli
from evidence.curation.outcomes import changed_text, set_outcome_row
from evidence.errors import EvidenceError
from evidence.library.outcomes import (
    OUTCOME_COLUMNS,
    TABLE_COLUMNS,
    find_outcome_files,
    load_outcomes,
    parse_outcome_text,
    parse_outcome_values,
)
from evidence.library.table import load_table

BIB = """@article{a2020, author = {A, B}, title = {T}, journal = {J}, year = 2020, design = {rct},
  intervention = {acupuncture}, comparator = {sham acupuncture}}
@article{b2021, author = {C, D}, title = {U}, journal = {J}, year = 2021}
"""
HEADER = "key,outcome,timepoint,arm,role,n,events,mean,sd,better\n"


def library(tmp_path: Path, csv_text: str, bib: str = BIB, name: str = "lib") -> tuple[Path, pd.DataFrame]:
    (tmp_path / f"{name}.bib").write_text(bib)
    if csv_text:
        (tmp_path / f"{name}.outcomes.csv").write_text(csv_text)
    return tmp_path, load_table([tmp_path], use_cache=False).table


def messages(problems) -> list[str]:
    return [str(p) for p in problems]


# --- the example library ---------------------------------------------------------------------------------------


def test_example_library_holds_shi_2003s_three_arms_as_the_sources_give_them():
    studies = load_table([EXAMPLE_REFS], use_cache=False).table
    table, problems = load_outcomes([EXAMPLE_REFS], studies)
    assert problems == []
    assert list(table.columns) == list(TABLE_COLUMNS)
    cure = table[table["outcome"] == "cure"]
    arms = {row.arm: (row.role, row.n, row.events) for row in cure.itertuples()}
    assert arms == {
        "acupuncture plus herbal steaming washing": ("intervention", 40, 27),
        "oryzanol plus diazepam": ("control", 40, 18),
        "acupuncture": ("intervention", 40, 19),
    }
    marked = table[table["outcome"] == "marked effect"].sort_values("line")
    assert marked["events"].tolist() == [8, 6, 6]
    assert set(table["timepoint"]) == {"immediately after treatment"}
    assert set(table["source"]) == {"csv"} and table["line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert all("rls-sources.md" in text for text in table["extracted_from"])
    # Shi gives its outcome one way only: the BibTeX shorthand is gone from the entry
    assert studies.loc["shi2003", ["n", "responders", "control_n", "control_responders"]].isna().all()


def test_check_on_the_example_library_is_clean():
    result = CliRunner().invoke(cli, ["check", "--refs", str(EXAMPLE_REFS), "--no-cache"])
    assert result.exit_code == 0, result.stderr
    assert "0 error(s), 0 warning(s)" in result.stderr + result.stdout


# --- finding and reading the files -----------------------------------------------------------------------------


def test_outcome_files_are_found_in_folders_given_and_beside_a_bib(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.outcomes.csv", "sub/b.outcomes.csv", "a.bib", "notes.csv"):
        (tmp_path / name).write_text("")
    assert find_outcome_files([tmp_path]) == [tmp_path / "a.outcomes.csv", tmp_path / "sub" / "b.outcomes.csv"]
    assert find_outcome_files([tmp_path / "a.bib"]) == [tmp_path / "a.outcomes.csv"]
    assert find_outcome_files([tmp_path / "sub" / "b.outcomes.csv"]) == [tmp_path / "sub" / "b.outcomes.csv"]


def test_columns_in_any_order_and_numbers_typed(tmp_path):
    text = "better,events,n,role,arm,key,outcome\nhigher,12,40,intervention,acupuncture,a2020,response\n"
    path, studies = library(tmp_path, text)
    table, problems = load_outcomes([path], studies)
    assert problems == []
    row = table.iloc[0]
    assert (row["key"], row["arm"], row["n"], row["events"], row["timepoint"]) == ("a2020", "acupuncture", 40, 12, "")
    assert str(table["n"].dtype) == "Int64" and str(table["mean"].dtype) == "Float64"


def test_a_csv_given_with_refs_is_not_read_as_bibtex(tmp_path):
    path, _ = library(tmp_path, HEADER + "a2020,response,,acupuncture,intervention,40,12,,,higher\n")
    result = CliRunner().invoke(
        cli, ["check", "--no-cache", "--refs", str(path / "lib.bib"), "--refs", str(path / "lib.outcomes.csv")]
    )
    assert result.exit_code == 0, result.stderr
    assert "2 entries in 1 file(s)" in result.stderr + result.stdout


def test_header_is_required(tmp_path):
    rows, problems = parse_outcome_text("a2020,response,acupuncture,intervention\n", "x.outcomes.csv")
    assert rows == []
    assert messages(problems) == [
        "x.outcomes.csv:1: error: header lacks the column(s) key, outcome, arm, role; the first row must name the "
        "columns"
    ]
    _, empty = parse_outcome_text("", "y.outcomes.csv")
    assert messages(empty) == ["y.outcomes.csv:1: error: no header row; the first row names the columns"]


def test_unknown_columns_warn_and_quoted_newlines_keep_line_numbers():
    text = (
        "key,outcome,arm,role,n,events,better,colour\n"
        'a,"pain\nrelief",x,control,10,2,higher,red\n'
        "b,o,y,control,5,1,higher,\n"
    )
    rows, problems = parse_outcome_text(text, "f.outcomes.csv")
    assert messages(problems)[0].startswith("f.outcomes.csv:1: warning: unknown column(s) colour are ignored")
    assert [(r.values["key"], r.line) for r in rows] == [("a", 2), ("b", 4)]


# --- the rules -------------------------------------------------------------------------------------------------


def test_each_bad_value_is_a_problem_at_its_line(tmp_path):
    text = HEADER + (
        "a2020,response,,acupuncture,intervention,40,41,,,higher\n"  # 2 events > n
        "a2020,pain,,acupuncture,intervention,-3,,5,2,lower\n"  # 3 negative count
        "a2020,pain,,sham,control,ten,,5,0,lower\n"  # 4 non-numeric count, sd 0
        "a2020,sleep,,sham,placebo,10,2,,,\n"  # 5 bad role, better missing
        "a2020,mood,,sham,control,10,2,4,1,higher\n"  # 6 events and mean in one row
    )
    path, studies = library(tmp_path, text)
    _, problems = load_outcomes([path], studies)
    file = str(path / "lib.outcomes.csv")
    found = messages(problems)
    for line, message in [
        (2, "events (41) greater than n (40)"),
        (3, "n '-3' is not a count (a whole number, 0 or more)"),
        (4, "n 'ten' is not a count (a whole number, 0 or more)"),
        (4, "sd 0 must be greater than 0"),
        (5, "role 'placebo' is not one of intervention, control"),
        (5, "better missing: higher or lower, whichever is good for this outcome"),
        (6, "events and mean/sd in one row: an outcome is dichotomous or continuous, not both"),
    ]:
        assert f"{file}:{line}: a2020: error: {message}" in found
    assert all(p.severity == "error" for p in problems)


def test_rules_across_rows(tmp_path):
    text = HEADER + (
        "a2020,pain,,needles,intervention,40,,3.1,1.2,lower\n"  # 2
        "a2020,pain,,sham,control,40,12,,,lower\n"  # 3 mixes kinds with line 2
        "a2020,sleep,,needles,intervention,40,10,,,higher\n"  # 4
        "a2020,sleep,,Needles,intervention,40,11,,,higher\n"  # 5 duplicate arm (case-insensitive)
        "b2021,sleep,,sham,control,40,10,,,lower\n"  # 6 better contradicts line 4
        "nobody,sleep,,sham,control,40,10,,,higher\n"  # 7 unknown key
    )
    path, studies = library(tmp_path, text)
    _, problems = load_outcomes([path], studies)
    file = str(path / "lib.outcomes.csv")
    found = messages(problems)
    assert (
        f"{file}:3: a2020: error: 'pain' mixes dichotomous and continuous rows (see {file}:2); an outcome is one "
        "or the other" in found
    )
    assert f"{file}:5: a2020: error: duplicate arm: 'Needles' of 'sleep' is also given at {file}:4" in found
    assert f"{file}:6: b2021: error: better is 'lower' for 'sleep' here but 'higher' at {file}:4" in found
    assert f"{file}:7: nobody: error: unknown key 'nobody': no entry in the library has it" in found


def test_shorthand_loads_as_the_outcome_response_with_two_arms(tmp_path):
    bib = BIB.replace(
        "design = {rct},",
        "design = {rct}, n = {40}, responders = {20}, control_n = {38}, "
        "control_responders = {10}, response_definition = {50% fewer attacks},",
    )
    review = "@article{r2019, author = {R, R}, title = {V}, journal = {J}, year = 2019, design = {meta-analysis},"
    review += " n = {500}}\n"
    path, studies = library(tmp_path, "", bib + review)
    table, problems = load_outcomes([path], studies)
    assert problems == []
    assert table[["key", "outcome", "arm", "role", "n", "events", "better", "source"]].values.tolist() == [
        ["a2020", "response", "acupuncture", "intervention", 40, 20, "higher", "bib"],
        ["a2020", "response", "sham acupuncture", "control", 38, 10, "higher", "bib"],
    ]
    assert table["definition"].tolist() == ["50% fewer attacks"] * 2
    assert table["file"].iloc[0].endswith("lib.bib") and table["line"].iloc[0] == 1


@pytest.mark.parametrize(
    ("verified_fields", "intervention_verifier", "control_verifier"),
    [
        ("", "QA", "QA"),  # no list: the verification covers every field
        ("n; responders; control_n; control_responders", "QA", "QA"),
        ("n; responders", "QA", None),
        ("title; doi", None, None),  # the numbers were never checked
    ],
)
def test_shorthand_arms_are_verified_only_for_the_counts_verified_fields_covers(
    tmp_path, verified_fields, intervention_verifier, control_verifier
):
    listed = f"verified_fields = {{{verified_fields}}}," if verified_fields else ""
    bib = BIB.replace(
        "design = {rct},",
        "design = {rct}, n = {40}, responders = {20}, control_n = {38}, control_responders = {10}, "
        f"extracted_by = {{AB}}, verified_by = {{QA}}, {listed}",
    )
    path, studies = library(tmp_path, "", bib)
    table, _ = load_outcomes([path], studies)
    verifiers = {role: (None if pd.isna(who) else who) for role, who in zip(table["role"], table["verified_by"])}
    assert verifiers == {"intervention": intervention_verifier, "control": control_verifier}


def test_the_same_outcome_given_both_ways_is_an_error(tmp_path):
    bib = BIB.replace("design = {rct},", "design = {rct}, n = {40}, responders = {20},")
    path, studies = library(tmp_path, HEADER + "a2020,Response,,acupuncture,intervention,40,20,,,higher\n", bib)
    _, problems = load_outcomes([path], studies)
    assert messages(problems) == [
        f"{path / 'lib.outcomes.csv'}:2: a2020: error: outcome 'Response' is given both here and as BibTeX fields at "
        f"{path / 'lib.bib'}:1; keep one (the CSV holds any number of arms)"
    ]


def test_check_reports_outcome_problems_with_the_usual_exit_codes(tmp_path):
    path, _ = library(tmp_path, HEADER + "a2020,response,,acupuncture,intervention,40,41,,,higher\n")
    runner = CliRunner()
    bad = runner.invoke(cli, ["check", "--no-cache", "--refs", str(path)])
    assert bad.exit_code == 2
    assert f"{path / 'lib.outcomes.csv'}:2: a2020: error: events (41) greater than n (40)" in bad.stderr
    (path / "lib.outcomes.csv").write_text(HEADER + "a2020,response,,acupuncture,intervention,40,12,,,higher\n")
    lonely = runner.invoke(cli, ["check", "--no-cache", "--strict", "--refs", str(path)])
    assert lonely.exit_code == 1
    assert "'response' cannot be compared: no control arm" in lonely.stderr
    assert runner.invoke(cli, ["check", "--no-cache", "--refs", str(path)]).exit_code == 0


# --- properties of the value parser ------------------------------------------------------------------------------


@given(st.text(alphabet="0123456789-.,x ", max_size=6))
@settings(max_examples=200, deadline=None)
def test_a_count_is_exactly_a_whole_number(text):
    values, found = parse_outcome_values({"n": text, "role": "control", "better": "higher", "events": "0"})
    digits = text.strip().replace(",", "")
    if not text.strip():
        assert values["n"] is None
    elif digits.isdigit():
        assert values["n"] == int(digits)
    else:
        assert values["n"] is None and any("is not a count" in message for _, message in found)


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
@settings(max_examples=100, deadline=None)
def test_sd_must_be_positive(sd):
    values, found = parse_outcome_values({"sd": repr(sd), "mean": "1", "role": "control", "better": "lower"})
    assert (values["sd"] is not None) == (sd > 0)
    assert any("must be greater than 0" in m for _, m in found) == (sd <= 0)


# --- edits -----------------------------------------------------------------------------------------------------

ORIGINAL = (
    "\ufeffkey,outcome,timepoint,arm,role,n,events,better,extracted_from\r\n"
    'a2020,response,,acupuncture,intervention,40,20,higher,"Table 2, p. 3"\r\n'
    'a2020,response,,sham,control,38,10,higher,"a quote ""with"" quotes\r\nover two lines"\r\n'
    "b2021 ,response,,drug,control,20,5,higher,\r\n"
)


def test_an_edit_changes_only_its_row(tmp_path):
    path = tmp_path / "x.outcomes.csv"
    path.write_bytes(ORIGINAL.encode("utf-8"))
    assert set_outcome_row(path, "a2020", "response", "", "acupuncture", {"events": "21"}) == "changed"
    new = path.read_bytes().decode("utf-8")
    assert new == ORIGINAL.replace("intervention,40,20,higher", "intervention,40,21,higher")
    assert set_outcome_row(path, "a2020", "response", "", "acupuncture", {"events": "21"}) == "unchanged"
    assert path.read_bytes().decode("utf-8") == new


def test_an_edit_adds_a_row_and_a_column_at_the_end(tmp_path):
    path = tmp_path / "x.outcomes.csv"
    path.write_bytes(ORIGINAL.encode("utf-8"))
    set_outcome_row(
        path,
        "b2021",
        "pain",
        "6 weeks",
        "drug",
        {"role": "control", "n": "20", "mean": "3.5", "sd": "1.25", "better": "lower"},
    )
    new = path.read_bytes().decode("utf-8")
    lines = new.split("\r\n")
    assert lines[0] == "\ufeffkey,outcome,timepoint,arm,role,n,events,better,extracted_from,mean,sd"
    assert new[len(lines[0]) + 2 :].startswith(ORIGINAL.split("\r\n", 1)[1])
    assert lines[-2] == "b2021,pain,6 weeks,drug,control,20,,lower,,3.5,1.25" and lines[-1] == ""


def test_a_new_file_gets_the_full_header_and_loads_back(tmp_path):
    path = tmp_path / "new.outcomes.csv"
    set_outcome_row(
        path,
        "a2020",
        "response",
        "",
        "acupuncture",
        {"role": "intervention", "n": "40", "events": "20", "better": "higher", "definition": "a, b"},
    )
    header, row = list(csv.reader(io.StringIO(path.read_text())))
    assert tuple(header) == OUTCOME_COLUMNS
    assert dict(zip(header, row))["definition"] == "a, b"
    (tmp_path / "lib.bib").write_text(BIB)
    table, problems = load_outcomes([tmp_path], load_table([tmp_path], use_cache=False).table)
    assert (table["events"].tolist(), [p.message for p in problems if p.severity == "error"]) == ([20], [])


def test_a_bad_edit_writes_nothing_and_says_why(tmp_path):
    path = tmp_path / "x.outcomes.csv"
    path.write_bytes(ORIGINAL.encode("utf-8"))
    with pytest.raises(EvidenceError, match=r"x.outcomes.csv:2: a2020: events \(50\) greater than n \(40\)"):
        set_outcome_row(path, "a2020", "response", "", "acupuncture", {"events": "50"})
    with pytest.raises(EvidenceError, match="unknown column"):
        set_outcome_row(path, "a2020", "response", "", "acupuncture", {"colour": "red"})
    with pytest.raises(EvidenceError, match="sd -1 must be greater than 0"):
        set_outcome_row(
            path, "a2020", "pain", "", "acupuncture", {"sd": "-1", "mean": "2", "role": "control", "better": "lower"}
        )
    assert path.read_bytes() == ORIGINAL.encode("utf-8")
    assert not list(tmp_path.glob(".x.outcomes.csv.*.tmp"))


def test_a_row_given_twice_is_not_edited(tmp_path):
    text = HEADER + "a,o,,x,control,1,1,,,higher\n" + "a,o,,x,control,2,1,,,higher\n"
    with pytest.raises(EvidenceError, match=r"given more than once \(lines 2, 3\)"):
        changed_text(text, "f.csv", "a", "o", "", "x", {"n": "3"})


@given(
    st.lists(st.text(alphabet='ab ,"\n', max_size=8), min_size=3, max_size=3),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(min_value=0, max_value=99),
)
@settings(max_examples=100, deadline=None)
def test_edits_keep_every_other_row_byte_exact(texts, ending, events):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=ending)
    writer.writerow(["key", "outcome", "arm", "role", "n", "events", "better", "definition"])
    for i, text in enumerate(texts):
        writer.writerow([f"k{i}", "o", "arm", "control", "100", "1", "higher", text])
    original = out.getvalue()
    new, what = changed_text(original, "f.csv", "k1", "o", "", "arm", {"events": str(events)})
    rows = list(csv.reader(io.StringIO(new, newline="")))
    before_rows = list(csv.reader(io.StringIO(original, newline="")))
    assert rows[2][5] == str(events) and rows[2][7] == before_rows[2][7]
    before, after = original.split("k1,", 1)[0], original.split("k2,", 1)[1]
    assert new.startswith(before) and new.endswith(after)
    assert what == ("unchanged" if events == 1 else "changed")


def test_unreadable_files_are_problems_not_tracebacks(tmp_path):
    (tmp_path / "lib.bib").write_text(BIB)
    (tmp_path / "latin1.outcomes.csv").write_bytes("key,outcome,arm,role\nm\xfcller,o,a,control\n".encode("latin-1"))
    (tmp_path / "nul.outcomes.csv").write_bytes(b"key,outcome,arm,role\na2020,o,a\x00b,control\n")
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--refs", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    # a file that is not UTF-8 is read in the encoding detected, with a warning naming it, and checked as any other
    assert f"{tmp_path / 'latin1.outcomes.csv'}: warning: not UTF-8: read as cp1252" in result.stderr
    assert f"{tmp_path / 'latin1.outcomes.csv'}:2: m\u00fcller: error: unknown key" in result.stderr
    assert f"{tmp_path / 'nul.outcomes.csv'}:2: a2020: error: better missing" in result.stderr  # a NUL is just text


row_values = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["a2020", "b2021"]),
        "outcome": st.text(alphabet='abc ,"\n', min_size=1, max_size=8).filter(lambda t: t.strip()),
        "arm": st.text(alphabet="xyz ;,", min_size=1, max_size=6).filter(lambda t: t.strip()),
        "role": st.sampled_from(["intervention", "control"]),
        "n": st.integers(min_value=0, max_value=10_000),
        "better": st.sampled_from(["higher", "lower"]),
        "mean": st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        "sd": st.floats(min_value=1e-6, max_value=1e6),
    }
)


@given(st.lists(row_values, min_size=1, max_size=5), st.permutations(list(OUTCOME_COLUMNS[:10])))
@settings(max_examples=80, deadline=None)
def test_rows_written_as_csv_read_back_as_written(rows, columns):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({**row, "mean": repr(row["mean"]), "sd": repr(row["sd"])} for row in rows)
    parsed, problems = parse_outcome_text(out.getvalue(), "f.outcomes.csv")
    assert [p for p in problems if p.severity == "error"] == []
    assert len(parsed) == len(rows)
    for got, want in zip(parsed, rows):
        for name in ("key", "role", "n", "better", "mean", "sd"):
            assert got.values[name] == want[name]
        assert (got.values["outcome"], got.values["arm"]) == (want["outcome"].strip(), want["arm"].strip())


def test_check_json_carries_outcome_problems(tmp_path):
    path, _ = library(tmp_path, HEADER + "a2020,response,,acupuncture,intervention,40,12,,0,higher\n")
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--format", "json", "--refs", str(path)])
    assert result.exit_code == 2
    records = json.loads(result.stdout)
    assert {
        "file": str(path / "lib.outcomes.csv"),
        "line": 2,
        "key": "a2020",
        "severity": "error",
        "message": "sd 0 must be greater than 0",
    } in records
