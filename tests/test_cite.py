"""CSL-JSON from table rows, and reference lists formatted by citeproc."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.cite import (
    CSL_TYPES,
    available_styles,
    citation_labels,
    csl_item,
    csl_items,
    format_bibliography,
    resolve_style_name,
)
from evidence.errors import EvidenceError
from evidence.table import load_table

from conftest import DATA, EXAMPLE_REFS


@pytest.fixture(scope="module")
def table():
    return load_table([EXAMPLE_REFS]).table


def test_csl_item_for_a_journal_article(table):
    item = csl_item(table.loc["cui2008"])
    assert item == {
        "id": "cui2008",
        "type": "article-journal",
        "author": [{"family": "Cui", "given": "Y."}, {"family": "Wang", "given": "Y."}, {"family": "Liu", "given": "Z."}],
        "issued": {"date-parts": [[2008]]},
        "title": "Acupuncture for restless legs syndrome",
        "container-title": "Cochrane Database of Systematic Reviews",
        "issue": "4",
        "page": "CD006457",
        "DOI": "10.1002/14651858.CD006457.pub2",
        "PMID": "18843716",
        "note": table.loc["cui2008", "note"],
    }
    assert csl_item(table.loc["wang1994"])["issued"] == {"date-parts": [[1994, 3]]}


@pytest.mark.parametrize(
    "entry_type,csl_type",
    [("article", "article-journal"), ("book", "book"), ("inproceedings", "paper-conference"),
     ("incollection", "chapter"), ("phdthesis", "thesis"), ("techreport", "report"), ("misc", "document"),
     ("whatever", "document")],
)
def test_entry_type_mapping(entry_type, csl_type):
    assert csl_item({"key": "k", "entry_type": entry_type})["type"] == csl_type
    assert CSL_TYPES.get(entry_type, "document") == csl_type


def test_ama_reference_list_in_citation_order(table):
    items = csl_items(table.loc[["shi2003", "cui2008"]])
    assert [i["id"] for i in items] == ["shi2003", "cui2008"]
    refs = format_bibliography(items)
    assert refs[0].startswith("Shi YL, Wang YM. Observation on therapeutic effects")
    assert refs[1] == (
        "Cui Y, Wang Y, Liu Z. Acupuncture for restless legs syndrome. Cochrane Database of Systematic Reviews. "
        "2008;(4):CD006457. doi:10.1002/14651858.CD006457.pub2"
    )


def test_condition_page_style_reproduces_the_pages_reference_list(table):
    refs = format_bibliography(csl_items(table.loc[["wang1994", "yang1993"]]), style="condition-page")
    assert refs[0] == (
        "Wang DY (1994) Observation on clinic effect of galvano-acupuncture on restless leg syndrome "
        "Journal of Gansu College of Traditional Chinese Medicine (Gansu Zhongyi Xueyuan Xuebao). 1994 March; 11(1): 46"
    )
    assert refs[1] == (
        "Yang YD (1993) Treatment of restive leg syndromes with body acupuncture and ear acupuncture "
        "Chinese Acupuncture and Moxibustion (Zhongguo Zhenjiu). 1993 June; 13(3): 13-14"
    )
    # The two lines as the page prints them (copied from shared/examples), numbered "1 ...", "2 ...".
    page = (DATA / "cite" / "condition-page-references.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 1)[1] for line in page] == refs


def test_condition_page_style_without_month_volume_or_issue():
    items = [
        {"id": "a", "type": "article-journal", "author": [{"family": "Cui", "given": "Y."}, {"family": "Liu", "given": "Z."}],
         "title": "T", "container-title": "J", "issued": {"date-parts": [[2008]]}, "issue": "4", "page": "CD006457"},
        {"id": "b", "type": "article-journal", "author": [{"family": "Ma", "given": "H. X."}], "title": "T",
         "container-title": "J", "issued": {"date-parts": [[2001]]}, "page": "42-3"},
    ]
    assert format_bibliography(items, style="condition-page") == [
        "Cui Y, Liu Z (2008) T J. 2008; (4): CD006457",
        "Ma HX (2001) T J. 2001; 42-3",
    ]


def test_unknown_style_names_closest_and_paths_work(tmp_path):
    with pytest.raises(EvidenceError, match="Closest: .*american-medical-association"):
        resolve_style_name("american-medical-asociation")
    assert "condition-page" in available_styles() and "apa" in available_styles()
    with pytest.raises(EvidenceError, match="not found"):
        resolve_style_name(str(tmp_path / "none.csl"))
    assert resolve_style_name("apa").endswith("apa.csl")


def test_html_escapes_field_text():
    item = {"id": "x", "type": "article-journal", "title": "<script>alert(1)</script>", "container-title": "A & B",
            "issued": {"date-parts": [[2000]]}}
    (html,) = format_bibliography([item], fmt="html")
    assert "<script>" not in html and "&lt;script&gt;" in html and "A &amp; B" in html
    (text,) = format_bibliography([item], fmt="text")
    assert "<script>alert(1)</script>" in text


def test_labels_numbered_and_author_year_with_collisions():
    items = [
        {"id": "a", "author": [{"family": "Wang"}], "issued": {"date-parts": [[1994]]}},
        {"id": "b", "author": [{"family": "Shi"}, {"family": "Wang"}], "issued": {"date-parts": [[2003]]}},
        {"id": "c", "author": [{"family": "Cui"}, {"family": "Wang"}, {"family": "Liu"}], "issued": {"date-parts": [[2008]]}},
        {"id": "d", "author": [{"family": "Wang"}], "issued": {"date-parts": [[1994]]}},
        {"id": "e", "title": "Anonymous report"},
    ]
    assert citation_labels(items) == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
    assert citation_labels(items, "author-year") == {
        "a": "Wang 1994a", "b": "Shi and Wang 2003", "c": "Cui et al. 2008", "d": "Wang 1994b", "e": "Anonymous report n.d."
    }


row_values = st.one_of(st.none(), st.just(float("nan")), st.just(pd.NA), st.text(max_size=20), st.integers(1, 3000))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "container", "volume", "issue", "pages", "doi", "pmid", "url",
                                        "language", "abstract", "note", "year", "month", "entry_type"]),
                       row_values),
       st.lists(st.fixed_dictionaries({"family": st.text(min_size=1, max_size=10), "given": st.text(max_size=5)}), max_size=3))
def test_csl_item_is_valid_json_without_missing_values(row, authors):
    row = dict(row, key="k", authors=authors)
    if not isinstance(row.get("year"), int):
        row["year"] = None
    if not (isinstance(row.get("month"), int) and 1 <= row["month"] <= 12):
        row["month"] = None
    row["entry_type"] = row["entry_type"] if isinstance(row.get("entry_type"), str) else "article"
    item = csl_item(row)
    json.dumps(item, allow_nan=False)  # raises on NaN or infinity

    def values(value):
        if isinstance(value, dict):
            return [v for inner in value.values() for v in values(inner)]
        if isinstance(value, list):
            return [v for inner in value for v in values(inner)]
        return [value]

    assert None not in values(item)
    assert item["id"] == "k"
    for value in item.values():
        assert not (isinstance(value, float) and math.isnan(value))
