"""Finding citations, reference lists and claims in pages."""

from __future__ import annotations

from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.audit.claims import html_to_text, parse_page, read_page, split_references

SEED = DATA / "audit" / "condition-page.txt"


def test_seed_page_references_citations_and_claims():
    page = read_page(SEED)
    assert [(r.label, r.first_author, r.year) for r in page.references] == [("1", "Wang", 1994), ("2", "Yang", 1993)]
    cited = [s for s in page.sentences if s.citations]
    assert len(cited) == 1
    (sentence,) = cited
    assert sentence.citations[0].labels == ("1", "2")
    kinds = {c.kind: c for c in sentence.claims}
    count, rate = kinds["study-count"], kinds["rate"]
    assert (count.text, count.count, count.country) == ("two Chinese studies", 2, "China")
    assert (rate.text, rate.low, rate.bound, rate.scope) == ("at least 70%", 70.0, ">=", "per-study")
    assert rate.outcome == "cured or significantly improved"
    assert page.text[rate.start : rate.end] == "at least 70%"


def test_percentage_qualifiers_and_ranges():
    def rate(sentence: str):
        (claim,) = [
            c
            for s in parse_page(sentence + " [1]\n\n1. Li X (2000) T. J.\n").sentences
            for c in s.claims
            if c.kind == "rate"
        ]
        return claim.bound, claim.low, claim.high

    assert rate("More than 70% improved.") == (">", 70, 70)
    assert rate("Over 70 percent improved.") == (">", 70, 70)
    assert rate("Up to 20% relapsed.") == ("<=", 20, 20)
    assert rate("About 65% responded.") == ("~", 65, 65)
    assert rate("Between 60 and 80% improved.") == ("range", 60, 80)
    assert rate("In 70-90% of patients it helped.") == ("range", 70, 90)
    assert rate("Exactly 67.5% were cured.") == ("=", 67.5, 67.5)


def test_study_counts_participants_and_citation_forms():
    pandoc = parse_page("Three randomised controlled trials [@a; @b; @c] found this.\n")
    (trials,) = pandoc.sentences[0].claims
    assert (trials.count, trials.designs) == (3, ("rct", "crossover"))
    assert pandoc.sentences[0].citations[0].labels == ("a", "b", "c")
    assert pandoc.sentences[0].citations[0].style == "pandoc"
    text = (
        "A systematic review (1) covered it. A total of 48 cases were treated in one study (2).\n\n"
        "1. Cui Y. Review. 2008.\n2. Zhou G. Trial. 2002.\n"
    )
    page = parse_page(text)
    claims = [c for s in page.sentences for c in s.claims]
    assert page.sentences[0].citations[0].labels == ("1",)
    assert claims[0].designs == ("systematic-review", "meta-analysis") and claims[0].count == 1
    assert any(c.kind == "participants" and c.count == 48 for c in claims)


def test_html_superscripts_and_ordered_lists():
    html = (
        "<html><body><p>Two studies<sup>1,2</sup> found that 70% improved.</p>"
        "<h2>References</h2><ol><li>Wang DY (1994) A.</li><li>Yang YD (1993) B.</li></ol>"
        "<script>var x = '50%';</script></body></html>"
    )
    text = html_to_text(html)
    assert "studies[1,2]" in text and "1. Wang DY" in text and "50%" not in text
    page = parse_page(html)
    assert [r.label for r in page.references] == ["1", "2"]
    assert page.sentences[0].citations[0].labels == ("1", "2")


def test_numbers_that_are_not_citations():
    page = parse_page("Countries: China (4). See [1].\n\n1. Li X (2000) T.\n")
    assert [c.labels for s in page.sentences for c in s.citations] == [("1",)]
    assert split_references("No references here, 1 2 3.\n") == (len("No references here, 1 2 3.\n"), ())


def test_author_year_names_from_the_reference_list_are_citations():
    page = parse_page(
        "| 1 | Shi 2003 | quasi-randomised controlled trial | 27/40 | 67.5% |\n"
        "Li et al. (2000) found 50% improved. Smith 1999 found 40%.\n\n"
        "1. Shi X, Li Y (2003) A trial.\n2. Li X (2000) Another.\n"
    )
    cited = [[c.labels for c in s.citations] for s in page.sentences]
    assert cited == [[("1",)], [("2",)], []]
    row = page.sentences[0].claims
    assert [c.text for c in row] == ["67.5%"] and row[0].arm is None  # "controlled trial" is no control group


def test_html_table_cells_stay_apart():
    text = html_to_text("<table><tr><td>Shi 2003</td><td>27/40</td><td>67.5%</td></tr></table>")
    assert "| Shi 2003 | 27/40 | 67.5%" in " ".join(text.split())


def test_uncited_claims_and_carried_citations():
    page = parse_page(
        "Huang 2021 [1] is a meta-analysis. It found 47.8% were cured.\n\nIn 120 patients, 50% improved.\n\n"
        "1. Huang C (2021) Effectiveness.\n"
    )
    second, third = page.sentences[1], page.sentences[2]
    assert second.carried[0].labels == ("1",) and second.cited == second.carried
    assert third.cited == ()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses(text):
    page = parse_page(text)
    for sentence in page.sentences:
        for claim in sentence.claims:
            assert 0 <= claim.start <= claim.end <= len(page.text)
            span = page.text[claim.start : claim.end]
            assert span == span.strip()  # the highlight holds the claim, not the space before it


reference_lines = st.lists(
    st.tuples(st.integers(0, 120), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)),
    max_size=6,
).map(lambda rows: "\n".join(f"{n} {t}" for n, t in rows))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200), reference_lines, st.booleans())
def test_malformed_reference_lists_never_crash(body, references, html):
    source = f"{body} [1] (2)\n\nReferences\n{references}\n"
    if html:
        source = f"<p>{source}</p><ol><li>{references}</li></ol>"
    page = parse_page(source)
    assert page.body_end <= len(page.text)


def test_reference_lines_are_split_into_their_parts():
    from evidence.audit.claims import parse_reference

    vancouver = parse_reference(
        "1",
        "Cui Y, Wang Y, Liu Z. Acupuncture for restless legs syndrome. Cochrane Database of "
        "Systematic Reviews. 2008;(4):CD006457. doi:10.1002/14651858.CD006457.pub2",
        9,
    )
    assert vancouver.authors == ("Cui Y", "Wang Y", "Liu Z") and vancouver.first_author == "Cui"
    assert vancouver.title == "Acupuncture for restless legs syndrome"
    assert vancouver.journal == "Cochrane Database of Systematic Reviews"
    assert (vancouver.year, vancouver.volume, vancouver.issue, vancouver.pages) == (2008, None, "4", "CD006457")
    assert vancouver.doi == "10.1002/14651858.CD006457.pub2"
    pmid = parse_reference(
        "2", "Huang C, Tang JF, et al. Effectiveness. Ann Palliat Med. 2021;10(10):10495-10505. PMID: 34763496", 10
    )
    assert pmid.authors == ("Huang C", "Tang JF") and pmid.pmid == "34763496" and pmid.pages == "10495-10505"
    # the seed page runs title and journal together: both are left out rather than guessed
    seed = read_page(SEED).references[1]
    assert seed.authors == ("Yang YD",) and seed.year == 1993 and seed.title is None
    assert (seed.volume, seed.issue, seed.pages) == ("13", "3", "13-14")


def test_claim_spans_hold_just_the_claim():
    page = parse_page("It found a rate of 47.8% [1], against 21.7% among controls.\n\n1. Li X (2000) T.\n")
    assert [page.text[c.start : c.end] for c in page.sentences[0].claims] == ["47.8%", "21.7%"]
