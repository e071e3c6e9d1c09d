"""add --pmid against an E-utilities stand-in served on 127.0.0.1 by the test, and its failures."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.cli import cli
from evidence.curation.pubmed import (
    RateLimiter,
    add_by_pmid,
    default_limiter,
    efetch_url,
    fetch_pmids,
    new_pmids,
    normalise_pmid,
    parse_efetch,
    read_pmid_file,
)
from evidence.errors import EvidenceError

DATA = Path(__file__).parent / "data" / "pubmed"
FIXTURES = {p.stem: p.read_bytes() for p in DATA.glob("*.xml")}
MESH_RECORD = b"""<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>
<Article><Journal><JournalIssue><PubDate><MedlineDate>2003 Nov-Dec</MedlineDate></PubDate></JournalIssue>
<Title>Made-up journal</Title></Journal><ArticleTitle>A <i>made-up</i> record.</ArticleTitle>
<Abstract><AbstractText>No labels, x<sup>2</sup> kept as text.</AbstractText></Abstract>
<AuthorList><Author><CollectiveName>Test Group</CollectiveName></Author><Author><LastName>Wang</LastName>
<Initials>DY</Initials></Author></AuthorList></Article>
<MeshHeadingList><MeshHeading><DescriptorName UI="D012148">Restless Legs Syndrome</DescriptorName></MeshHeading>
<MeshHeading><DescriptorName UI="D015670">Acupuncture Therapy</DescriptorName></MeshHeading></MeshHeadingList>
</MedlineCitation></PubmedArticle></PubmedArticleSet>"""


class EUtils(BaseHTTPRequestHandler):
    """Answers efetch from the fixtures; PMIDs 9xx stand for the failures under test."""

    requests: list[dict[str, list[str]]] = []
    failures: dict[str, list[int]] = {}

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        type(self).requests.append(query)
        ids = query.get("id", [""])[0].split(",")
        if url.path != "/efetch.fcgi":
            return self._send(404, b"not here")
        first = ids[0]
        queue = type(self).failures.get(first)
        if queue:
            return self._send(queue.pop(0), b"busy", {"Retry-After": "0"})
        if first == "900":
            time.sleep(3)
            return self._send(200, FIXTURES["empty"])
        if first == "901":
            return self._send(200, b"<html><body>Service unavailable</body>")
        if first == "902":
            return self._send(200, b'<?xml version="1.0"?><PubmedArticleSet>caf\xe9</PubmedArticleSet>')
        if first == "903":
            return self._send(200, b"<PubmedArticleSet>" + b"x" * 300_000 + b"</PubmedArticleSet>")
        if first == "904":
            bomb = (
                b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                b"<PubmedArticleSet>&lol2;</PubmedArticleSet>"
            )
            return self._send(200, bomb)
        if first == "905":
            return self._send(200, b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>")
        if first == "1":
            return self._send(200, MESH_RECORD)
        body = b"".join(
            FIXTURES[i].split(b"<PubmedArticleSet>")[1].split(b"</PubmedArticleSet>")[0] for i in ids if i in FIXTURES
        )
        return self._send(200, b'<?xml version="1.0" ?>\n<PubmedArticleSet>' + body + b"</PubmedArticleSet>")

    def _send(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def eutils():
    EUtils.requests = []
    EUtils.failures = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EUtils)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def fast(**kwargs):
    return RateLimiter(1000.0)


def test_fetch_maps_efetch_fields(eutils):
    (record,) = fetch_pmids(["26572941"], eutils, limiter=fast())
    fields = record.fields
    assert fields["pmid"] == "26572941"
    assert fields["doi"] == "10.1016/j.clinthera.2015.10.010"
    assert fields["author"].startswith("Liu, Guang Jian and Wu, Lang")
    assert fields["year"] == "2016" and fields["month"] == "jan" and fields["pages"] == "162--179.e6"
    assert fields["pubtype"] == "Journal Article; Meta-Analysis; Systematic Review"
    assert fields["abstract"].startswith("PURPOSE: The objective of this meta-analysis")
    assert " METHODS: Databases of PubMed" in fields["abstract"]
    assert " FINDINGS: Twelve RCTs involving 3286 participants" in fields["abstract"]
    assert not fields["title"].endswith(".")


def test_several_pmids_in_one_request_keep_their_order(eutils):
    records = fetch_pmids(["24171782", "17133582"], eutils, limiter=fast())
    assert [r.fields["pmid"] for r in records] == ["24171782", "17133582"]
    assert len(EUtils.requests) == 1
    assert EUtils.requests[0]["id"] == ["24171782,17133582"]
    assert EUtils.requests[0]["db"] == ["pubmed"] and EUtils.requests[0]["retmode"] == ["xml"]


def test_mesh_collective_authors_and_medline_dates(eutils):
    (record,) = fetch_pmids(["1"], eutils, limiter=fast())
    assert record.fields["mesh"] == "Restless Legs Syndrome; Acupuncture Therapy"
    assert record.fields["author"] == "{Test Group} and Wang, DY"
    assert record.fields["year"] == "2003" and record.fields["month"] == "nov"
    assert record.fields["title"] == "A made-up record"
    assert record.fields["abstract"] == "No labels, x2 kept as text."


def test_api_key_is_sent_and_raises_the_rate(eutils):
    fetch_pmids(["17133582"], eutils, api_key="secret-key", limiter=fast())
    assert EUtils.requests[0]["api_key"] == ["secret-key"]
    assert "api_key" not in urllib.parse.parse_qs(urllib.parse.urlparse(efetch_url(eutils, ["1"])).query)


def test_unknown_pmid_is_an_error_and_names_it(eutils):
    with pytest.raises(EvidenceError, match=r"PubMed has no record of PMID 12345; nothing was added"):
        fetch_pmids(["17133582", "12345"], eutils, limiter=fast())


def test_429_then_success_is_retried(eutils):
    EUtils.failures["17133582"] = [429, 503]
    (record,) = fetch_pmids(["17133582"], eutils, limiter=fast(), deadline=10)
    assert record.fields["pmid"] == "17133582"
    assert len(EUtils.requests) == 3


def test_persistent_500_fails_with_one_line(eutils):
    EUtils.failures["17133582"] = [500, 500, 500, 500]
    with pytest.raises(EvidenceError, match=r"^PubMed: .*answered 500.*\(fetching PMID 17133582\); nothing was added$"):
        fetch_pmids(["17133582"], eutils, limiter=fast(), deadline=10)


def test_a_server_that_never_answers_hits_the_deadline(eutils):
    started = time.monotonic()
    with pytest.raises(EvidenceError, match="no complete answer"):
        fetch_pmids(["900"], eutils, limiter=fast(), deadline=0.5)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("pmid", "message"),
    [
        ("901", "is not XML"),
        ("902", "not valid UTF-8"),
        ("904", "declares XML entities"),
        ("905", "PubMed answered with an error: Empty id list"),
    ],
)
def test_bad_answers_are_refused(eutils, pmid, message):
    with pytest.raises(EvidenceError, match=message):
        fetch_pmids([pmid], eutils, limiter=fast())


def test_huge_answer_is_cut_off(eutils):
    with pytest.raises(EvidenceError, match="over the limit of 100,000"):
        fetch_pmids(["903"], eutils, limiter=fast(), max_bytes=100_000)


def test_rate_limiter_spaces_requests_without_sleeping():
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.wait()
    assert clock.slept == pytest.approx([1 / 3] * 3)
    clock.now += 5
    limiter.wait()
    assert len(clock.slept) == 3  # a late call waits for nothing


def test_default_rates_follow_ncbi_rules():
    assert default_limiter(None).per_second == 3.0
    assert default_limiter("key").per_second == 10.0


def test_batches_respect_the_rate_limit():
    clock = FakeClock()
    urls = []

    def fetcher(url, **kwargs):
        urls.append(url)
        return b"<PubmedArticleSet/>"

    pmids = [str(n) for n in range(1, 451)]
    with pytest.raises(EvidenceError, match="no record"):
        fetch_pmids(pmids, "http://x", limiter=RateLimiter(3.0, clock=clock, sleep=clock.sleep), fetcher=fetcher)
    assert len(urls) == 3  # 200 + 200 + 50
    assert clock.slept == pytest.approx([1 / 3, 1 / 3])


@pytest.mark.parametrize(
    "text", ["26784863", " PMID: 26784863", "pmid:26784863", "https://pubmed.ncbi.nlm.nih.gov/26784863/"]
)
def test_normalise_pmid_accepts_common_spellings(text):
    assert normalise_pmid(text) == "26784863"


@given(st.text(max_size=20))
def test_normalise_pmid_gives_digits_or_a_clear_error(text):
    try:
        value = normalise_pmid(text)
    except EvidenceError as error:
        assert "is not a PMID" in str(error)
    else:
        assert value.isdigit() and not value.startswith("0")


def test_pmid_file_reports_the_bad_line(tmp_path):
    path = tmp_path / "pmids.txt"
    path.write_text("# from the page\n17133582, 26572941\n\nPMID: 24171782  # protocol\nabc\n")
    with pytest.raises(EvidenceError, match=r"pmids\.txt:5: 'abc' is not a PMID"):
        read_pmid_file(path)
    path.write_text("# from the page\n17133582, 26572941\n\nPMID: 24171782  # protocol\n")
    assert read_pmid_file(path) == ["17133582", "26572941", "24171782"]


def test_library_pmids_cost_no_request(eutils):
    import pandas as pd

    table = pd.DataFrame({"key": ["oertel2007"], "pmid": ["17133582"]}).set_index("key", drop=False)
    wanted, known = new_pmids(["17133582", "26572941", "26572941"], table)
    assert wanted == ["26572941"]
    assert known == ["PMID 17133582: already in the library as oertel2007"]
    records, known = add_by_pmid(["17133582"], None, table, eutils)
    assert records == [] and EUtils.requests == []


def test_parse_efetch_of_the_empty_set_is_empty():
    assert parse_efetch(FIXTURES["empty"]) == []


def test_cli_add_pmid_writes_the_entry(eutils, tmp_path):
    target = tmp_path / "refs" / "new.bib"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "add",
            "--refs",
            str(tmp_path / "refs"),
            "--to",
            str(target),
            "--pmid",
            "26572941",
            "--pubmed-url",
            eutils,
            "-q",
        ],
        env={"NCBI_API_KEY": "k1"},
    )
    assert result.exit_code == 0, result.output
    assert "added 1 entry" in result.output and "liu2016efficacy" in result.output
    text = target.read_text()
    assert "pmid = {26572941}" in text and "pubtype = {Journal Article; Meta-Analysis; Systematic Review}" in text
    assert EUtils.requests[0]["api_key"] == ["k1"]
    again = runner.invoke(
        cli,
        [
            "add",
            "--refs",
            str(tmp_path / "refs"),
            "--to",
            str(target),
            "--pmid",
            "26572941",
            "--pubmed-url",
            eutils,
            "-q",
        ],
    )
    assert again.exit_code == 0
    assert "skipped PMID 26572941: already in the library as liu2016efficacy" in again.output
    assert len(EUtils.requests) == 1


def test_cli_unknown_pmid_writes_nothing(eutils, tmp_path):
    target = tmp_path / "new.bib"
    target.write_text("% keep me\n")
    result = CliRunner().invoke(
        cli,
        [
            "add",
            "--to",
            str(target),
            "--pmid",
            "17133582",
            "--pmid",
            "999999",
            "--pubmed-url",
            eutils,
            "-q",
            "--refs",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "PubMed has no record of PMID 999999; nothing was added" in result.output
    assert "Traceback" not in result.output
    assert target.read_text() == "% keep me\n"


PAGE = """Pramipexole for restless legs

A meta-analysis [1] of 12 trials with 3286 participants found pramipexole better than placebo.

A randomised trial [2] in 345 patients found the same. Another study [3] in 99 patients did not.

1 Liu GJ, Wu L, Wang SL. Efficacy of pramipexole for primary restless leg syndrome. Clin Ther. 2016. PMID: 26572941

2 Oertel WH, Stiasny-Kolster K. Efficacy of pramipexole in restless legs syndrome. Mov Disord. 2007. PMID: 17133582

3 Nobody A. A study PubMed does not know. J Nowhere. 2020;1:1. PMID: 999999
"""

LIBRARY = """@article{wang1994,
  author = {Wang, D. Y.},
  title = {Observation on clinic effect of galvano-acupuncture on restless leg syndrome},
  year = {1994},
}
"""


def test_audit_fetch_missing_writes_unverified_entries_and_judges_them(eutils, tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "lib.bib").write_text(LIBRARY)
    page = tmp_path / "page.txt"
    page.write_text(PAGE)
    target = tmp_path / "fetched.bib"
    result = CliRunner().invoke(
        cli,
        ["audit", "--refs", str(refs), "-q", str(page), "--fetch-missing", "--to", str(target)],
        env={"EVIDENCE_PUBMED_URL": eutils},
    )
    assert "Traceback" not in result.output
    text = target.read_text()
    assert "pmid = {26572941}" in text and "pmid = {17133582}" in text
    assert "studies = {12}" in text and "participants = {3286}" in text
    assert "extracted_by = {evidence extract" in text and "verified_by" not in text
    assert "added 2 entries" in result.output and "(machine-extracted, not verified)" in result.output
    assert "could not fetch PMID 999999: PubMed has no record of it" in result.output
    assert len(EUtils.requests) == 1  # one request for the three PMIDs
    assert "supported by unverified data: 12 trials" in result.output
    assert "supported by unverified data: 3286 participants" in result.output
    assert "liu2016efficacy not verified" in result.output
    assert "\n  supported:" not in result.output  # machine-extracted data never makes a claim "supported"
    assert result.exit_code == 1  # reference 3 stays unresolved


def test_fetch_missing_needs_to(tmp_path):
    (tmp_path / "lib.bib").write_text(LIBRARY)
    page = tmp_path / "page.txt"
    page.write_text(PAGE)
    result = CliRunner().invoke(cli, ["audit", "--refs", str(tmp_path), "-q", str(page), "--fetch-missing"])
    assert result.exit_code == 2 or result.exit_code == 1
    assert "--fetch-missing needs --to FILE" in result.output


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.sampled_from(list(FIXTURES.values())).map(lambda b: b[: len(b) // 2]),
    )
)
def test_any_answer_parses_or_fails_with_one_line(body):
    try:
        records = parse_efetch(body)
    except EvidenceError as error:
        assert "\n" not in str(error)
    else:
        assert all(r.fields.get("pmid", "").isdigit() for r in records)


def test_fetch_missing_falls_back_to_crossref_for_a_doi(tmp_path):
    import pandas as pd

    from evidence.curation.importers import Record
    from evidence.curation.missing import fetch_missing

    class Ref:
        label, text, pmid, doi = "1", "Some trial. doi:10.1000/x", None, "10.1000/x"

    abstract = (
        "Sixty patients were randomly divided into a treatment group (n = 30) and a control group (n = 30). "
        "The total effective rate was 90.0% in the treatment group and 70.0% in the control group."
    )
    calls = []

    def crossref_stub(doi, base_url):
        calls.append(doi)
        return Record(
            "article", {"title": "Some trial", "year": "2020", "author": "Li, X", "doi": doi, "abstract": abstract}
        )

    def pubmed_stub(*args, **kwargs):
        raise AssertionError("no PMID here")

    table = pd.DataFrame({"key": [], "doi": [], "pmid": [], "title": [], "year": []}).set_index("key", drop=False)
    report = fetch_missing(
        [Ref()], tmp_path / "f.bib", table, fetchers={"pubmed": pubmed_stub, "crossref": crossref_stub}
    )
    assert calls == ["10.1000/x"] and report.added == ["li2020some"]
    bib = (tmp_path / "f.bib").read_text()
    assert "design = {rct}" in bib and "participants = {60}" in bib
    assert "extracted_from = {abstract (DOI 10.1000/x)}" in bib
    rows = (tmp_path / "f.outcomes.csv").read_text().splitlines()
    assert rows[1].startswith("li2020some,total effective rate,,treatment group,intervention,30,27,")
    assert rows[1].endswith(",,,abstract")


def test_cli_add_pmid_file(eutils, tmp_path):
    listing = tmp_path / "pmids.txt"
    listing.write_text("# cited by the page\n17133582\nPMID: 24171782\n")
    target = tmp_path / "new.bib"
    result = CliRunner().invoke(
        cli,
        [
            "add",
            "--refs",
            str(tmp_path),
            "--to",
            str(target),
            "--pmid-file",
            str(listing),
            "--pubmed-url",
            eutils,
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "added 2 entries" in result.output
    assert EUtils.requests[0]["id"] == ["17133582,24171782"]


def test_allow_missing_leaves_unknown_pmids_out(eutils):
    records = fetch_pmids(["17133582", "12345"], eutils, limiter=fast(), allow_missing=True)
    assert [r.fields["pmid"] for r in records] == ["17133582"]


def test_fetch_missing_offline_writes_nothing_and_says_why(tmp_path):
    import pandas as pd

    from evidence.curation.missing import fetch_missing

    class Ref:
        label, text, pmid, doi = "1", "A trial. PMID: 17133582", "17133582", None

    def offline(*args, **kwargs):
        raise EvidenceError("PubMed: cannot reach eutils.ncbi.nlm.nih.gov (no network); nothing was added")

    table = pd.DataFrame({"key": [], "doi": [], "pmid": [], "title": [], "year": []}).set_index("key", drop=False)
    report = fetch_missing([Ref()], tmp_path / "f.bib", table, fetchers={"pubmed": offline, "crossref": offline})
    assert report.added == [] and not (tmp_path / "f.bib").exists()
    assert report.failed == [
        "PMID 17133582: PubMed: cannot reach eutils.ncbi.nlm.nih.gov (no network); nothing was added"
    ]
