"""CSL-JSON from table rows, and reference lists formatted by citeproc."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, EXAMPLE_REFS
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.errors import EvidenceError
from evidence.library.table import load_table
from evidence.pages.cite import (
    CSL_TYPES,
    available_styles,
    citation_labels,
    csl_item,
    csl_items,
    format_bibliography,
    resolve_style_name,
)


@pytest.fixture(scope="module")
def table():
    return load_table([EXAMPLE_REFS]).table


def test_csl_item_for_a_journal_article(table):
    item = csl_item(table.loc["cui2008"])
    assert item == {
        "id": "cui2008",
        "type": "article-journal",
        "author": [
            {"family": "Cui", "given": "Y."},
            {"family": "Wang", "given": "Y."},
            {"family": "Liu", "given": "Z."},
        ],
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
    [
        ("article", "article-journal"),
        ("book", "book"),
        ("inproceedings", "paper-conference"),
        ("incollection", "chapter"),
        ("phdthesis", "thesis"),
        ("techreport", "report"),
        ("misc", "document"),
        ("whatever", "document"),
    ],
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
        {
            "id": "a",
            "type": "article-journal",
            "author": [{"family": "Cui", "given": "Y."}, {"family": "Liu", "given": "Z."}],
            "title": "T",
            "container-title": "J",
            "issued": {"date-parts": [[2008]]},
            "issue": "4",
            "page": "CD006457",
        },
        {
            "id": "b",
            "type": "article-journal",
            "author": [{"family": "Ma", "given": "H. X."}],
            "title": "T",
            "container-title": "J",
            "issued": {"date-parts": [[2001]]},
            "page": "42-3",
        },
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
    item = {
        "id": "x",
        "type": "article-journal",
        "title": "<script>alert(1)</script>",
        "container-title": "A & B",
        "issued": {"date-parts": [[2000]]},
    }
    (html,) = format_bibliography([item], fmt="html")
    assert "<script>" not in html and "&lt;script&gt;" in html and "A &amp; B" in html
    (text,) = format_bibliography([item], fmt="text")
    assert "<script>alert(1)</script>" in text


def test_labels_numbered_and_author_year_with_collisions():
    items = [
        {"id": "a", "author": [{"family": "Wang"}], "issued": {"date-parts": [[1994]]}},
        {"id": "b", "author": [{"family": "Shi"}, {"family": "Wang"}], "issued": {"date-parts": [[2003]]}},
        {
            "id": "c",
            "author": [{"family": "Cui"}, {"family": "Wang"}, {"family": "Liu"}],
            "issued": {"date-parts": [[2008]]},
        },
        {"id": "d", "author": [{"family": "Wang"}], "issued": {"date-parts": [[1994]]}},
        {"id": "e", "title": "Anonymous report"},
    ]
    assert citation_labels(items) == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
    assert citation_labels(items, "author-year") == {
        "a": "Wang 1994a",
        "b": "Shi and Wang 2003",
        "c": "Cui et al. 2008",
        "d": "Wang 1994b",
        "e": "Anonymous report n.d.",
    }


missing = st.sampled_from([None, float("nan"), pd.NA, "", "   "])
row_values = st.one_of(
    missing,
    st.text(max_size=20),
    st.integers(-5, 3000),
    st.floats(allow_nan=True),
    st.lists(st.one_of(missing, st.text(max_size=5)), max_size=3),
)
name_parts = st.one_of(missing, st.text(max_size=10))
names = st.one_of(
    st.fixed_dictionaries(
        {"family": name_parts, "given": name_parts}, optional={"suffix": name_parts, "other": name_parts}
    ),
    st.text(max_size=10),
    missing,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "container",
                "volume",
                "issue",
                "pages",
                "doi",
                "pmid",
                "url",
                "language",
                "abstract",
                "note",
                "year",
                "month",
                "entry_type",
                "keywords",
            ]
        ),
        row_values,
    ),
    st.one_of(missing, st.lists(names, max_size=4)),
    st.booleans(),
)
def test_csl_item_is_valid_json_without_missing_values(row, authors, as_series):
    row = dict(row, key="k", authors=authors)
    if as_series:
        row = pd.Series(row, dtype=object)
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


@pytest.fixture(scope="module")
def types_table():
    result = load_table([DATA / "cite" / "types.bib"])
    assert result.problems == []
    return result.table


@pytest.mark.parametrize(
    "entry_type,csl_type",
    [
        ("mastersthesis", "thesis"),
        ("inbook", "chapter"),
        ("conference", "paper-conference"),
        ("booklet", "pamphlet"),
        ("manual", "report"),
        ("unpublished", "manuscript"),
        ("online", "webpage"),
        ("proceedings", "book"),
        ("ARTICLE", "article-journal"),
        ("", "document"),
    ],
)
def test_more_entry_types(entry_type, csl_type):
    assert csl_item({"key": "k", "entry_type": entry_type})["type"] == csl_type


def test_books_reports_and_theses_name_their_publisher(types_table):
    items = {item["id"]: item for item in csl_items(types_table)}
    assert items["book2001"]["publisher"] == "Churchill Livingstone" and "container-title" not in items["book2001"]
    assert items["thesis2010"] == {
        "id": "thesis2010",
        "type": "thesis",
        "author": [{"family": "Li", "given": "Wei"}],
        "issued": {"date-parts": [[2010, 9]]},
        "title": "Needling depth and response",
        "publisher": "Beijing University of Chinese Medicine",
        "genre": "PhD thesis",
    }
    assert items["report2015"]["publisher"] == "NHS Scotland"
    assert items["report2015"]["keyword"] == "acupuncture, audit"
    assert items["conf2019"]["container-title"] == "Proceedings of the Society for Acupuncture Research"
    assert items["conf2019"]["page"] == "101-104"
    assert items["web2020"] == {
        "id": "web2020",
        "type": "document",
        "issued": {"date-parts": [[2020]]},
        "title": "Restless legs syndrome",
        "URL": "https://example.org/rls?a=1&b=2",
    }
    assert [item["id"] for item in csl_items(types_table)] == list(types_table.index)


def test_names_keep_csl_parts_and_drop_empty_ones():
    item = csl_item(
        {
            "key": "k",
            "authors": [
                {"family": "Wang", "given": "D. Y."},
                {"family": "King", "given": float("nan"), "suffix": "Jr", "orcid": "0000"},
                {"family": "", "given": ""},
                "World Health Organization",
            ],
        }
    )
    assert item["author"] == [
        {"family": "Wang", "given": "D. Y."},
        {"family": "King", "suffix": "Jr"},
        {"literal": "World Health Organization"},
    ]
    assert "author" not in csl_item({"key": "k", "authors": float("nan")})
    assert "author" not in csl_item({"key": "k", "authors": []})


@pytest.mark.parametrize(
    "year,month,issued",
    [
        (1994, 3, {"date-parts": [[1994, 3]]}),
        (2008, pd.NA, {"date-parts": [[2008]]}),
        (2008, 13, {"date-parts": [[2008]]}),
        (pd.NA, 3, None),
        (None, None, None),
    ],
)
def test_dates_with_and_without_month(year, month, issued):
    item = csl_item(pd.Series({"key": "k", "year": year, "month": month}, dtype=object))
    assert item.get("issued") == issued


def test_missing_fields_are_left_out():
    row = pd.Series(
        {
            "key": "k",
            "entry_type": "article",
            "title": float("nan"),
            "container": pd.NA,
            "volume": "  ",
            "pages": None,
            "doi": float("nan"),
            "keywords": [],
            "authors": None,
            "year": pd.NA,
            "month": pd.NA,
            "abstract": "",
            "note": pd.NA,
        },
        dtype=object,
    )
    assert csl_item(row) == {"id": "k", "type": "article-journal"}
    assert csl_item(pd.Series({"title": "T"}, name="wang1994"))["id"] == "wang1994"
    assert csl_item({"key": float("nan")})["id"] == ""


def test_a_table_row_without_month(table):
    item = csl_item(table.loc["huang2021"])
    assert item["issued"] == {"date-parts": [[2021]]}
    assert item["author"][0] == {"family": "Huang", "given": "C."} and len(item["author"]) == 5
    json.dumps(csl_items(table), allow_nan=False)


def test_reference_order_is_citation_order_even_for_sorting_styles(table):
    items = csl_items(table.loc[["yang1993", "cui2008", "wang1994"]])
    refs = format_bibliography(items, style="apa")
    assert [ref.split(",")[0] for ref in refs] == ["Yang", "Cui", "Wang"]
    assert format_bibliography(items, style="apa") == refs  # deterministic


def test_keys_differing_in_case_or_repeated_stay_apart():
    items = [
        {"id": "Wang1994", "type": "article-journal", "title": "First"},
        {"id": "wang1994", "type": "article-journal", "title": "Second"},
        {"id": "wang1994", "type": "article-journal", "title": "Second"},
    ]
    refs = format_bibliography(items)
    assert [ref.split(".")[0] for ref in refs] == ["First", "Second", "Second"]


def test_numbered_styles_lose_their_number_and_unformattable_items_fall_back():
    items = [
        {
            "id": "a",
            "type": "article-journal",
            "title": "Alpha",
            "author": [{"family": "Wang", "given": "D"}],
            "issued": {"date-parts": [[1994]]},
        },
        {"id": "no-type-at-all"},
    ]
    for style in ("vancouver-nlm", "ieee", "american-medical-association"):
        refs = format_bibliography(items, style=style)
        assert refs[0].startswith("Wang D") or refs[0].startswith("D. Wang"), (style, refs)
        assert refs[1] == "no-type-at-all"


def test_page_ranges_with_ampersands_stay_valid_html():
    item = {
        "id": "x",
        "type": "article-journal",
        "title": "T",
        "container-title": "J",
        "volume": "3<",
        "page": "1-2&3",
        "author": [{"family": "O'Brien <b>", "given": "A & B"}],
        "issued": {"date-parts": [[2000]]},
    }
    for style in ("american-medical-association", "apa", "ieee", "condition-page"):
        (html,) = format_bibliography([item], style=style, fmt="html")
        assert "&amp; amp;" not in html and "&amp; lt;" not in html and "<b>," not in html, (style, html)
        assert "1-2&amp;3" in html or "1–2&amp;3" in html, (style, html)
        assert "O'Brien &lt;b&gt;" in html


def test_styles_by_dependent_name_file_name_and_path(tmp_path):
    assert resolve_style_name("nature-chemistry").endswith("/nature.csl")  # a dependent style's parent
    assert resolve_style_name("apa.csl") == resolve_style_name("apa")
    dependent = Path(resolve_style_name("nature")).parent / "dependent" / "nature-chemistry.csl"
    assert resolve_style_name(str(dependent)) == resolve_style_name("nature")
    assert resolve_style_name("condition-page").endswith("evidence/pages/styles/condition-page.csl")
    assert resolve_style_name(resolve_style_name("apa")) == resolve_style_name("apa")
    with pytest.raises(EvidenceError, match="vancouver-nlm"):
        resolve_style_name("vancouver")
    with pytest.raises(EvidenceError, match="not a usable CSL style"):
        format_bibliography([{"id": "a", "type": "book", "title": "T"}], style=str(DATA / "cite" / "broken.csl"))
    with pytest.raises(EvidenceError, match="no bibliography"):
        format_bibliography([{"id": "a", "type": "book", "title": "T"}], style=str(DATA / "cite" / "citation-only.csl"))
    assert format_bibliography([], style="no-such-style") == []


def test_formatting_prints_and_warns_nothing(capfd, table):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        format_bibliography(csl_items(table), style="chicago-author-date", fmt="html")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_labels_for_et_al_names_many_collisions_and_unknown_modes():
    item = {"id": "a", "author": [{"family": "Brown"}, {"family": "et al."}], "issued": {"date-parts": [[2015]]}}
    assert citation_labels([item], "author-year") == {"a": "Brown et al. 2015"}
    many = [{"id": str(i), "author": [{"family": "Wang"}], "issued": {"date-parts": [[1994]]}} for i in range(28)]
    labels = citation_labels(many, "author-year")
    assert labels["0"] == "Wang 1994a" and labels["25"] == "Wang 1994z" and labels["27"] == "Wang 1994ab"
    assert len(set(labels.values())) == 28
    with pytest.raises(EvidenceError, match="author-year"):
        citation_labels([item], "harvard")


html_text = st.text(alphabet=st.sampled_from(list("ab &<>\"'-;:/\ue000")), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(title=html_text, container=html_text, family=html_text, page=html_text)
def test_html_is_the_text_escaped(title, container, family, page):
    import html
    import re

    item = {
        "id": "x",
        "type": "article-journal",
        "title": title,
        "container-title": container,
        "page": page,
        "author": [{"family": family, "given": "A"}],
        "issued": {"date-parts": [[2000]]},
    }
    (as_html,) = format_bibliography([item], fmt="html")
    (as_text,) = format_bibliography([item], fmt="text")
    bare = re.sub(r"</?(i|b)>", "", as_html)
    assert "<" not in bare and ">" not in bare
    assert " ".join(html.unescape(bare).split()) == as_text


def test_styles_command_lists_matching_names():
    from click.testing import CliRunner

    from evidence.cli import cli

    result = CliRunner().invoke(cli, ["styles", "vancouver"])
    assert result.exit_code == 0, result.output
    names = result.stdout.split()
    assert "vancouver-nlm" in names and all("vancouver" in name for name in names)
    assert "condition-page" in CliRunner().invoke(cli, ["styles", "condition"]).stdout.split()
    missing = CliRunner().invoke(cli, ["styles", "no-such-style-anywhere"])
    assert missing.exit_code == 2 and "no citation style name contains" in missing.stderr


# --- one formatting pass per reference, and the cache of formatted references ---------------------

from evidence.pages import cite
from evidence.pages.cite import CitationCache, FormattedReference, format_references

ARTICLE = {
    "id": "wang1994",
    "type": "article-journal",
    "title": "Galvano-acupuncture & RLS",
    "author": [{"family": "Wang", "given": "D. Y."}],
    "container-title": "J <TCM>",
    "issued": {"date-parts": [[1994, 3]]},
    "volume": "11",
    "page": "46",
}


@pytest.fixture
def passes(monkeypatch):
    """Counts citeproc passes (and the items in them); the in-process memo starts empty."""
    monkeypatch.setattr(cite, "_MEMO", {})
    monkeypatch.setattr(cite, "_LIST_MEMO", {})
    calls = []
    real = cite._render

    def counting(style, items):
        calls.append(len(items))
        return real(style, items)

    monkeypatch.setattr(cite, "_render", counting)
    return calls


def test_text_and_html_come_from_one_pass(passes):
    items = [ARTICLE, dict(ARTICLE, id="b", title="Second")]
    text = format_bibliography(items, fmt="text")
    html = format_bibliography(items, fmt="html")
    assert passes == [2]
    assert text[0] == "Wang DY. Galvano-acupuncture & RLS. J <TCM>. 1994;11:46."
    assert html[0] == "Wang DY. Galvano-acupuncture &amp; RLS. <i>J &lt;TCM&gt;</i>. 1994;11:46."
    assert format_references(items) == [FormattedReference(t, h) for t, h in zip(text, html)]


def test_the_disk_cache_formats_each_reference_once_per_style(tmp_path, passes):
    store = CitationCache(tmp_path / "citations")
    first = format_references([ARTICLE], cache=store)
    cite._MEMO.clear()  # as in a new process
    again = format_references([ARTICLE, dict(ARTICLE, id="new", title="Changed")], cache=store)
    assert passes == [1, 1]  # only the changed item was formatted
    assert again[0] == first[0] and again[1].text.startswith("Wang DY. Changed.")
    cite._MEMO.clear()
    assert format_references([ARTICLE], style="ieee", cache=store)[0].text.startswith("D. Y. Wang,")
    assert passes == [1, 1, 1]  # another style is another key
    files = sorted((tmp_path / "citations").glob("*.json"), key=lambda p: p.stat().st_size)
    sizes = [len(json.loads(p.read_text(encoding="utf-8"))["references"]) for p in files]
    assert sizes == [1, 2]  # plain JSON: one file per style, one entry per item
    assert store.notes == []


@pytest.mark.parametrize(
    "content",
    [
        b"\x80\x04\x95 not json, perhaps a pickle",
        b'{"format": 1, "style": "x", "references": {}}',
        b"[1, 2, 3]",
        "TAMPERED",
    ],
)
def test_a_corrupt_or_tampered_cache_file_is_ignored_and_rewritten(tmp_path, passes, content):
    store = CitationCache(tmp_path)
    expected = format_references([ARTICLE], cache=store)
    (path,) = tmp_path.glob("*.json")
    if content == "TAMPERED":  # valid JSON, but HTML that is not the text: would put a script into pages
        data = json.loads(path.read_text(encoding="utf-8"))
        digest = next(iter(data["references"]))
        data["references"][digest][1] = "<script>alert(1)</script>"
        content = json.dumps(data).encode()
    path.write_bytes(content)
    cite._MEMO.clear()
    assert format_references([ARTICLE], cache=store) == expected
    assert passes == [1, 1]
    assert any("ignored" in note for note in store.notes), store.notes
    assert "script" not in path.read_text(encoding="utf-8")  # rewritten with the right reference


def test_the_cache_is_capped_and_its_failures_never_stop_formatting(tmp_path, passes):
    store = CitationCache(tmp_path / "c", max_references=2)
    items = [dict(ARTICLE, id=f"k{i}", title=f"Title {i}") for i in range(3)]
    format_references(items, cache=store)
    (path,) = (tmp_path / "c").glob("*.json")
    assert len(json.loads(path.read_text(encoding="utf-8"))["references"]) == 2
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    unwritable = CitationCache(blocked / "citations")
    assert format_references([dict(ARTICLE, id="z")], cache=unwritable)[0].text.startswith("Wang DY.")
    assert len(unwritable.notes) == 1 and "not written" in unwritable.notes[0]


def test_styles_that_depend_on_the_whole_list_are_not_cached_per_reference(tmp_path, passes):
    store = CitationCache(tmp_path)
    items = [dict(ARTICLE, id="a", title="One"), dict(ARTICLE, id="b", title="Two")]
    refs = format_references(items, style="apa", cache=store)  # APA asks for year suffixes (1994a, 1994b)
    assert refs[1].text == "Wang, D. Y. (1994). Two. J <TCM>, 11, 46."
    assert list(tmp_path.glob("*.json")) == []
    assert format_references(items, style="apa", cache=store) == refs and passes == [2]


def test_cache_folder_from_the_environment_or_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path))
    assert cite.default_citation_cache().folder == tmp_path / "citations"
    monkeypatch.delenv("EVIDENCE_CACHE_DIR")
    import platformdirs

    assert cite.default_cache_folder() == Path(platformdirs.user_cache_dir("evidence", appauthor=False))


def test_a_repeated_full_stop_after_a_tag_is_dropped_from_html_and_text():
    authors = [{"family": f"Author{i}", "given": "A"} for i in range(8)]
    item = {
        "id": "x",
        "type": "article-journal",
        "title": "T",
        "container-title": "J",
        "author": authors,
        "issued": {"date-parts": [[2000]]},
        "volume": "3",
        "page": "1-2",
    }
    (reference,) = format_references([item], style="nature", cache=False)
    assert "<i>et al.</i> T." in reference.html and "et al. T." in reference.text
    assert cite._html_and_text("A <i>et al.</i>. B") == ("A <i>et al.</i> B", "A et al. B")
    assert cite._html_and_text("a &amp; b<b>;</b>") == ("a &amp; b<b>;</b>", "a & b;")
