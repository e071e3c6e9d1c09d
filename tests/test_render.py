"""Paragraphs and pages: goldens, escaping, template overrides and errors, the plot, the CLI.

Golden files live in tests/golden/render/; rewrite them with
``EVIDENCE_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`` and review the diff.
The golden pages use a placeholder for the plot, so they do not depend on the
matplotlib version; the plot is tested for determinism on its own.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS, RENDER_LIBRARY, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from evidence.analysis.stats import MEASURES, METHODS
from evidence.analysis.summary import summarize
from evidence.cli import MEASURE_CHOICES, POOLING_METHODS, cli
from evidence.errors import EvidenceError
from evidence.library.table import load_table
from evidence.pages.render import (
    PLOT_FONT_SIZE,
    PLOT_MAX_STUDIES,
    PLOT_WIDTH_INCHES,
    PlotRow,
    build_page,
    forest_plot_svg,
    forest_plots,
    join_and,
    num,
    pct,
    plural,
    render_conditions,
    render_page,
    render_paragraph,
    safe_reference,
    shown_rows,
)

GOLDEN = Path(__file__).resolve().parent / "golden" / "render"
PLACEHOLDER_SVG = '<svg xmlns="http://www.w3.org/2000/svg" id="placeholder"></svg>'


def placeholder_plots(summary):
    """The summary's plots with a placeholder SVG, so goldens do not depend on matplotlib's version."""
    from dataclasses import replace

    return [replace(plot, svg=PLACEHOLDER_SVG) for plot in forest_plots(summary)]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("EVIDENCE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with EVIDENCE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden (see module doc)"


# --- goldens ----------------------------------------------------------------------


def test_example_paragraph_golden(example):
    check_golden("restless-legs-syndrome.paragraph.md", render_paragraph(example, "markdown"))


def test_tinnitus_pages_golden(tinnitus):
    check_golden("tinnitus.page.md", render_page(tinnitus, "markdown", placeholder_plots(tinnitus)))
    check_golden("tinnitus.page.html", render_page(tinnitus, "html", placeholder_plots(tinnitus)))


def test_migraine_pages_golden(migraine):
    check_golden("migraine.page.md", render_page(migraine, "markdown", placeholder_plots(migraine)))
    check_golden("migraine.paragraph.txt", render_paragraph(migraine, "text"))


def test_tinnitus_text_paragraph_golden(tinnitus):
    check_golden("tinnitus.paragraph.txt", render_paragraph(tinnitus, "text"))


def test_committed_example_reports_are_up_to_date(example):
    """reports/ holds the example library's pages; regenerate with `evidence render --all`."""
    page = dict(build_page(example).files)
    committed = ROOT / "reports" / "restless-legs-syndrome.md"
    assert committed.exists(), "run: evidence render --all"
    assert committed.read_text(encoding="utf-8") == page["restless-legs-syndrome.md"], (
        "reports/ is stale: run evidence render --all"
    )


# --- what the paragraph must say ------------------------------------------------


def test_example_paragraph_names_studies_without_data_and_the_causal_caution(example):
    text = render_paragraph(example, "text")
    assert "at least 70%" in text and "It has not been verified." in text
    assert "On their own, without a comparison group, they cannot show that the treatment works" in text
    for label in ("Zhou 2002 [", "Dai et al. 2006 [", "Tan 2005 ["):
        assert label in text
    assert "\n[12] " in text  # the numbered reference list ends the paragraph
    assert "high certainty" not in text and "confident" not in text


def test_example_says_nothing_certain_from_uncontrolled_rates(example):
    text = render_paragraph(example, "text")
    bounds = next(p for p in text.split("\n\n") if "at least 70%" in p)
    assert "certainty" not in bounds.lower()
    for result in example.comparisons:  # Shi 2003's arms are the only comparison
        assert {s.key for s in result.studies} == {"shi2003"}
        assert result.rating.level in ("low", "very low")


def test_the_sham_controlled_pair_never_claims_high_certainty_of_benefit(migraine):
    text = render_paragraph(migraine, "text")
    sham = next(c for c in migraine.comparisons if c.comparator == "sham acupuncture" and c.outcome == "response")
    assert sham.rating.level != "high" and sham.rating.importance.effect == "little-or-no-difference"
    lead = "Acupuncture likely results in little to no difference in response compared with sham acupuncture (RR"
    assert lead in text
    assert "confident" not in text
    assert text.index("compared with sham acupuncture") < text.index("This summary covers")  # the comparison leads


def test_patient_text_has_no_tau_i2_or_q_but_the_page_does(migraine):
    text = render_paragraph(migraine, "text")
    assert "tau" not in text and "I²" not in text and " Q " not in text
    page = render_page(migraine, "markdown", placeholder_plots(migraine))
    methods = page.split("## Methods and statistics")[1]
    assert "tau²" in methods and "I²" in methods and "Q " in methods and "prediction interval" in methods


def test_summary_of_findings_table_per_comparison(migraine):
    page = render_page(migraine, "markdown", placeholder_plots(migraine))
    table = page.split("## Summary of findings")[1].split("##")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "Outcome" not in line]
    assert len(rows) == len(migraine.comparisons) == 3
    response = next(r for r in rows if r.startswith("| Response (acupuncture compared with sham acupuncture)"))
    assert "531 per 1,000" in response  # (43 + 35) / (81 + 66) control risk
    assert "408 (2 studies)" in response and "Moderate (rated down for imprecision)" in response
    days = next(r for r in rows if r.startswith("| Headache days (12 weeks)"))
    assert "MD -0.30" in days and "| – |" in days  # no risks per 1,000 for a continuous outcome


def test_wording_per_certainty_and_importance(migraine):
    from dataclasses import replace

    from evidence.analysis.certainty import Importance

    sham = next(c for c in migraine.comparisons if c.comparator == "sham acupuncture" and c.outcome == "response")
    expected = {
        ("high", "increase"): "Acupuncture increases response compared with",
        ("high", "decrease"): "Acupuncture reduces response compared with",
        ("high", "little-or-no-difference"): "Acupuncture results in little to no difference in response compared with",
        ("moderate", "increase"): "Acupuncture likely increases response",
        ("moderate", "decrease"): "Acupuncture likely reduces response",
        ("moderate", "little-or-no-difference"): "Acupuncture likely results in little to no difference in response",
        ("low", "increase"): "Acupuncture may increase response",
        ("low", "decrease"): "Acupuncture may reduce response",
        ("low", "little-or-no-difference"): "Acupuncture may result in little to no difference in response",
    }
    for effect in ("increase", "decrease", "little-or-no-difference"):
        expected[("very low", effect)] = "The evidence is very uncertain about the effect of acupuncture on response"
    for (level, effect), wording in expected.items():
        rating = replace(sham.rating, level=level, importance=Importance(effect, 1.0, 0.8, 1.25))
        summary = replace(migraine, comparisons=(replace(sham, rating=rating),))
        text = render_paragraph(summary, "text")
        assert text.startswith(wording), (level, effect, text[:120])
        assert f"; {level} certainty) [1][2]." in text.split("\n")[0]


def test_a_comparison_that_cannot_be_pooled_is_named(table):
    summary = summarize(table, "migraine", measure="smd")  # dichotomous comparisons cannot take an SMD
    text = render_paragraph(summary, "text")
    unpooled = [c for c in summary.comparisons if c.pooled is None]
    assert unpooled and all(c.problem for c in unpooled)
    assert "on response compared with sham acupuncture cannot be estimated [1][2]: " in text


def test_author_year_citations(table):
    summary = summarize(table, "tinnitus", citations="author-year")
    text = render_paragraph(summary, "markdown")
    assert "[1]" not in text
    items = [line for line in text.split("**References**")[1].splitlines() if line]
    assert items and all(line.startswith("- ") for line in items)  # a bulleted list, not numbered


def test_json_format_is_the_summary_data(tinnitus, migraine):
    data = json.loads(render_paragraph(tinnitus, "json"))
    assert data["pooled"]["k"] == 3 and "certainty" not in data
    data = json.loads(render_paragraph(migraine, "json"))
    sham = next(c for c in data["comparisons"] if c["slug"] == "response-acupuncture-vs-sham-acupuncture")
    assert set(sham["pooled"]) >= {"estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "QE", "QEp", "k"}
    assert sham["rating"]["level"] == "moderate"
    assert [r["rule"] for r in sham["rating"]["reasons"]] == ["ci-includes-important", "few-events"]


# --- escaping ---------------------------------------------------------------------


def test_html_escapes_a_script_title(tinnitus):
    html = render_page(tinnitus, "html", placeholder_plots(tinnitus))
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_every_field_is_autoescaped_in_html_templates(tinnitus, tmp_path):
    (tmp_path / "paragraph.html.j2").write_text("{{ summary.studies[1].title }}\n")
    html = render_paragraph(tinnitus, "html", templates=tmp_path)
    assert html == "Acupuncture for tinnitus &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;\n"


def test_markdown_escapes_markdown_syntax_in_fields(tinnitus, tmp_path):
    from dataclasses import replace

    (tmp_path / "paragraph.md.j2").write_text("{{ summary.studies[0].title }}\n")
    study = replace(tinnitus.studies[0], title="![t](http://example.com/x.png) *bold* | cell")
    text = render_paragraph(replace(tinnitus, studies=(study,)), "markdown", templates=tmp_path)
    assert text == "\\!\\[t\\](http://example.com/x.png) \\*bold\\* \\| cell\n"


def test_markdown_escapes_angle_brackets(tinnitus, tmp_path):
    (tmp_path / "paragraph.md.j2").write_text("{{ summary.studies[1].title }}\n")
    assert render_paragraph(tinnitus, "markdown", templates=tmp_path) == (
        'Acupuncture for tinnitus \\<script\\>alert("x")\\</script\\>\n'
    )


def test_safe_reference_keeps_formatting_and_escapes_other_tags():
    html = safe_reference('<i>J Tests</i>. <b>1</b> <script>x</script> <a href="https://doi.org/1">doi</a>')
    assert html == '<i>J Tests</i>. <b>1</b> &lt;script&gt;x&lt;/script&gt; <a href="https://doi.org/1">doi</a>'


# --- templates: override and errors --------------------------------------------------


def test_a_user_template_overrides_the_packaged_one(tinnitus, tmp_path):
    (tmp_path / "paragraph.md.j2").write_text(
        "{{ summary.condition }}: {{ summary.counted|length|plural('study') }} with counts\n"
    )
    assert render_paragraph(tinnitus, "markdown", templates=tmp_path) == "tinnitus: 3 studies with counts\n"
    # the other formats still come from the package
    assert "Pooling the 3 studies" in render_paragraph(tinnitus, "text", templates=tmp_path)


def test_a_syntax_error_names_the_template_file_and_line(tinnitus, tmp_path):
    path = tmp_path / "paragraph.md.j2"
    path.write_text("fine\n{% if %}\n")
    with pytest.raises(EvidenceError) as error:
        render_paragraph(tinnitus, "markdown", templates=tmp_path)
    assert str(error.value).startswith(f"{path}:2: template error")


def test_an_undefined_variable_names_the_template_file_and_line(tinnitus, tmp_path):
    path = tmp_path / "page.md.j2"
    path.write_text("# {{ summary.condition }}\n\n{{ summary.no_such_thing }}\n")
    with pytest.raises(EvidenceError) as error:
        render_page(tinnitus, "markdown", [], templates=tmp_path)
    assert str(error.value).startswith(f"{path}:3: template error")
    assert "no_such_thing" in str(error.value)


def test_a_missing_templates_folder_is_an_error(tinnitus, tmp_path):
    with pytest.raises(EvidenceError, match="templates folder not found"):
        render_paragraph(tinnitus, "markdown", templates=tmp_path / "nope")


# --- the forest plot and determinism -----------------------------------------------------


def test_forest_plot_is_deterministic_and_labelled(migraine):
    (sham,) = [p for p in forest_plots(migraine) if p.comparison.slug == "response-acupuncture-vs-sham-acupuncture"]
    again = [p for p in forest_plots(migraine) if p.comparison.slug == sham.comparison.slug][0]
    assert sham.svg == again.svg
    assert sham.svg.startswith("<?xml") and "<svg" in sham.svg and "<dc:date>" not in sham.svg
    for label in ("Linde et al. 2005", "Second 2006", "Pooled (DL)", "RR [95% CI]", "Weight"):
        assert label in sham.svg
    assert sham.log_scale and sham.null == 1.0 and sham.pooled
    assert sham.file == "migraine.forest-2.svg"
    days = next(p for p in forest_plots(migraine) if p.comparison.measure == "md")
    assert not days.log_scale and days.null == 0.0


def test_plot_text_is_at_least_the_pages_small_print(migraine):
    import re

    svg = forest_plots(migraine)[0].svg
    sizes = {float(size) for size in re.findall(r"font-size: ([\d.]+)px", svg)}
    width_pt = float(re.search(r'width="([\d.]+)pt"', svg).group(1))
    assert width_pt == PLOT_WIDTH_INCHES * 72 and sizes == {PLOT_FONT_SIZE}
    css_px_per_unit = 96 / 72  # the SVG's pt units at its natural CSS size
    assert min(sizes) * css_px_per_unit >= 0.9 * 16  # small print is 0.9rem
    assert PLOT_WIDTH_INCHES * 96 <= 50 * 16  # narrower than the page's text column, so never scaled down


@pytest.mark.parametrize("name", ["$x$", "$" * 3 + "{" * 200 + "}" * 200 + "$", r"$\frac{a}{b}$ costs $5", "a_b^c"])
def test_plot_text_is_literal_never_mathtext(name):
    rows = [
        PlotRow(name, 1.2, 0.9, 1.6, "study", 60.0),
        PlotRow("Other", 0.9, 0.7, 1.2, "study", 40.0),
        PlotRow("Pooled (DL)", 1.05, 0.9, 1.3, "pooled", pi_lb=0.6, pi_ub=1.9),
    ]
    svg = forest_plot_svg(rows, True, 1.0, "RR [95% CI]")
    from xml.sax.saxutils import escape

    assert escape(name) in svg or name.replace("&", "&amp;") in svg


@st.composite
def plot_row_lists(draw: st.DrawFn) -> list[PlotRow]:
    estimates = draw(st.lists(st.sampled_from([0.2, 0.5, 0.9, 1.0, 1.1, 2.0, 7.5]), min_size=0, max_size=40))
    rows = [PlotRow(f"Study {i}", e, e / 2, e * 2, "study", 100 / len(estimates)) for i, e in enumerate(estimates)]
    if draw(st.booleans()):
        rows.append(PlotRow("Pooled (DL)", 1.0, 0.8, 1.2, "pooled"))
    return rows


@given(plot_row_lists(), st.integers(min_value=1, max_value=45))
@settings(max_examples=300, deadline=None)
def test_a_plot_past_the_cap_draws_studies_at_even_steps_through_their_estimates(rows, limit):
    shown = shown_rows(rows, limit)
    studies = [row for row in rows if row.kind == "study"]
    kept = [row for row in shown if row.kind == "study"]
    assert [row for row in shown if row.kind != "study"] == [row for row in rows if row.kind != "study"]
    if len(studies) <= limit:
        assert shown == rows
        return
    assert len(kept) == limit
    assert [rows.index(row) for row in shown] == sorted(rows.index(row) for row in shown)  # the comparison's order
    ranked = sorted(studies, key=lambda row: (row.estimate, rows.index(row)))
    ranks = sorted(ranked.index(row) for row in kept)
    if limit > 1:
        assert ranks[0] == 0 and ranks[-1] == len(ranked) - 1  # the lowest and the highest estimates
    step = (len(ranked) - 1) / max(limit - 1, 1)
    assert all(step - 1 < b - a < step + 1 for a, b in pairwise(ranks))  # even steps through the ranks


def test_a_plot_past_the_cap_draws_a_fair_sample_and_its_caption_says_so(migraine):
    from dataclasses import replace

    every = [p for p in forest_plots(migraine) if p.comparison.slug == "response-acupuncture-vs-sham-acupuncture"][0]
    assert (every.studies, every.shown, every.shown_weight) == (2, 2, None)
    assert every.studies <= PLOT_MAX_STUDIES
    capped = [p for p in forest_plots(migraine, limit=1) if p.comparison.slug == every.comparison.slug][0]
    effects = {s.label: s.effect for s in every.comparison.studies}
    lower, higher = sorted(effects, key=lambda label: effects[label].estimate)
    assert (capped.studies, capped.shown) == (2, 1)
    assert capped.shown_weight == pytest.approx(effects[lower].weight)
    assert lower in capped.svg and higher not in capped.svg and "Pooled (DL)" in capped.svg
    summary = replace(migraine, comparisons=(every.comparison,))
    page = render_page(summary, "markdown", [replace(capped, svg=PLACEHOLDER_SVG)])
    note = (
        "The plot shows 1 of the 2 study estimates, taken at even steps through them in order of estimate, from the "
        f"lowest to the highest, so that they spread as all of them do (together {effects[lower].weight:.1f}% of "
        "the weight); the pooled estimate is from all 2, and every study's estimate is listed under "
        '"Methods and statistics".'
    )
    assert note in page
    html = render_page(summary, "html", [replace(capped, svg=PLACEHOLDER_SVG)])
    assert "The plot shows 1 of the 2 study estimates, taken at even steps" in html
    uncapped = render_page(summary, "markdown", [replace(every, svg=PLACEHOLDER_SVG)])
    assert "The plot shows" not in uncapped


def test_a_comparison_of_many_studies_draws_at_most_the_cap(migraine):
    from dataclasses import replace

    from evidence.analysis.comparisons import Arm, Comparison, StudyComparison
    from evidence.analysis.summary import compare

    def trial(number):
        return StudyComparison(
            f"s{number}", "response", "", "dichotomous", "higher",
            Arm("acupuncture", "intervention", 40 + number % 50, 10 + number % 20, None, None),
            Arm("usual care", "control", 40 + number % 30, 8 + number % 15, None, None),
            False, "rct", True, "primary", None,
        )  # fmt: skip

    count = PLOT_MAX_STUDIES + 20
    body = Comparison(
        "response", "", "dichotomous", "higher", "acupuncture", "usual care", tuple(map(trial, range(count))), (), ()
    )
    labels = {f"s{number}": f"Trial {number:03d}" for number in range(count)}
    result = compare(body, labels, {}, method="dl")
    (plot,) = forest_plots(replace(migraine, comparisons=(result,)))
    assert (plot.studies, plot.shown) == (count, PLOT_MAX_STUDIES)
    drawn = {label for label in labels.values() if f">{label}<" in plot.svg}
    assert len(drawn) == PLOT_MAX_STUDIES
    estimates = sorted(s.effect.estimate for s in result.studies)
    shown = sorted(s.effect.estimate for s in result.studies if s.label in drawn)
    assert (shown[0], shown[-1]) == (estimates[0], estimates[-1])  # the whole range, not one end of it
    assert 0 < plot.shown_weight < 100


def test_the_benchmarks_big_page_pools_every_study_of_its_condition_in_one_comparison(tmp_path):
    """bench/run.py --big-page times a page whose plot is the worst case; it must stay one big comparison."""
    import runpy

    from evidence import Library

    bench = runpy.run_path(str(Path(__file__).resolve().parent.parent / "bench" / "run.py"))
    path = bench["page_library"](tmp_path, size=300)
    assert path.parent == tmp_path / "page-300" and (path.parent / "library.outcomes.csv").exists()
    library = Library([path])
    assert not [p for p in library.check() if p.severity == "error"]
    summary = library.summarize(bench["PAGE_CONDITION"])
    with_counts = [s for s in summary.studies if s.n]
    (comparison,) = summary.comparisons
    assert comparison.pooled is not None and comparison.comparator == "usual care"
    assert len(with_counts) > 10 and {s.key for s in comparison.studies} == {s.key for s in with_counts}


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0.01, 10.0, [0.01, 0.1, 1, 10]),  # ten coarse ticks would run into each other: decades
        (0.01, 2.3, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]),  # eight still fit (the tinnitus test page)
        (0.5, 2.2, [0.5, 1, 2]),
        (0.8, 1.3, [0.8, 1, 1.25]),  # fewer than three coarse ones: the fine ticks
    ],
)
def test_ratio_ticks_fit_the_axis(low, high, expected):
    from evidence.pages.render import _ticks

    assert _ticks(low, high, True) == expected


def test_small_weights_keep_two_significant_digits_in_the_plot():
    rows = [PlotRow("Big", 1.2, 0.9, 1.6, "study", 99.966), PlotRow("Tiny", 0.9, 0.7, 1.2, "study", 0.034)]
    svg = forest_plot_svg(rows, True, 1.0, "RR [95% CI]")
    assert ">0.034%<" in svg and ">100.0%<" in svg and ">0.0%<" not in svg


def test_nothing_to_plot_gives_no_svg_file(table, tmp_path):
    summary = summarize(table, "tinnitus", intervention="ear acupuncture")  # only a bound
    assert forest_plots(summary) == []
    page = build_page(summary)
    assert [name for name, _ in page.files] == ["tinnitus-ear-acupuncture.md", "tinnitus-ear-acupuncture.html"]
    assert "no forest plot" in dict(page.files)["tinnitus-ear-acupuncture.md"]


def test_pages_are_byte_identical_across_runs(table, tmp_path):
    first = render_conditions(table, ["tinnitus", "migraine"], tmp_path / "a")
    second = render_conditions(table, ["tinnitus", "migraine"], tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.name for p in first][:3] == ["tinnitus.md", "tinnitus.html", "tinnitus.forest-1.svg"]
    assert len([p for p in first if p.name.startswith("migraine.") and p.suffix == ".svg"]) == 3
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
    html = (tmp_path / "a" / "tinnitus.html").read_text()
    assert "<svg" in html and "<?xml" not in html  # inlined without its prolog
    assert "![Forest plot" in (tmp_path / "a" / "tinnitus.md").read_text()


def test_colliding_slugs_never_drop_a_page(tmp_path, write_bib):
    bib = write_bib(
        "@article{a1, author={A, A}, title={One}, year=2001, condition={..}, n={10}, responders={5}}\n"
        "@article{b1, author={B, B}, title={Two}, year=2002, condition={...}, n={10}, responders={6}}\n"
    )
    table = load_table([bib]).table
    from evidence.analysis.summary import conditions

    names = conditions(table)
    assert sorted(names) == ["..", "..."]
    written = render_conditions(table, names, tmp_path / "out")
    assert len({p.name for p in written if p.suffix == ".md"}) == 2


def test_two_conditions_for_one_slug_are_an_error_not_an_overwrite(table, tmp_path, monkeypatch):
    import evidence.analysis.summary as summary_module

    render_conditions(table, ["tinnitus", "Tinnitus"], tmp_path / "same")  # one condition, two spellings: one page
    assert sorted(p.name for p in (tmp_path / "same").glob("*.md")) == ["tinnitus.md"]
    monkeypatch.setattr(summary_module, "slugify", lambda text: "page")
    with pytest.raises(EvidenceError, match="conditions 'tinnitus' and 'migraine' would both be written to page.md"):
        render_conditions(table, ["tinnitus", "migraine"], tmp_path / "clash")
    assert not (tmp_path / "clash").exists()  # nothing written


# --- filters ------------------------------------------------------------------------------


def test_filters():
    assert pct(67.5) == "67.5%" and pct(None) == "not available"
    assert num(70.0) == "70" and num(47.8) == "47.8" and num(12) == "12"
    assert plural(1, "study") == "1 study" and plural(2, "study") == "2 studies"
    assert join_and(["a", "b", "c"]) == "a, b and c" and join_and([]) == ""
    assert join_and(["a", "b"], "or") == "a or b"
    joined = join_and([Markup("<i>a</i>"), "<b>"])
    assert isinstance(joined, Markup) and joined == "<i>a</i> and &lt;b&gt;"


# --- CLI wiring ------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="evidence")


def test_cli_summarize_example():
    result = run("summarize", "restless legs syndrome", "--refs", str(EXAMPLE_REFS))
    assert result.exit_code == 0, result.output
    lead = result.stdout.split("\n\n")[0]  # Shi 2003's comparison leads: two treated arms against the drugs
    assert lead.startswith("Acupuncture plus herbal steaming washing or acupuncture may increase cure")
    assert "compared with oryzanol plus diazepam" in lead
    assert json.loads(run("summarize", "restless legs", "--refs", str(EXAMPLE_REFS), "--format", "json").stdout)[
        "slug"
    ] == ("restless-legs-syndrome")


def test_cli_summarize_unknown_condition_lists_known_ones():
    result = run("summarize", "restless arms", "--refs", str(EXAMPLE_REFS))
    assert result.exit_code == 2
    assert "known conditions, closest first: restless legs syndrome" in result.stderr


def test_cli_render_all(tmp_path):
    result = run("render", "--all", "--refs", str(RENDER_LIBRARY), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    pages = [n for n in names if not n.endswith(".svg")]
    assert pages == ["migraine.html", "migraine.md", "tinnitus.html", "tinnitus.md"]
    assert "tinnitus.forest-1.svg" in names
    assert str(tmp_path / "tinnitus.html") in result.stdout


def test_cli_comparison_options_reach_the_summary():
    result = run(
        "summarize",
        "migraine",
        "--refs",
        str(RENDER_LIBRARY.parent),
        "--comparator",
        "sham",
        "--outcome",
        "response",
        "--measure",
        "or",
        "--method",
        "reml",
        "--hksj",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.stdout)["comparisons"]
    assert "sham" in only["comparator"]
    assert (only["outcome"], only["measure"], only["method"], only["hksj"]) == ("response", "or", "reml", True)
    assert only["pooled"]["measure"] == "or" and only["pooled"]["hksj"] is True


def test_cli_render_takes_the_comparison_options(tmp_path):
    result = run(
        "render",
        "migraine",
        "--refs",
        str(RENDER_LIBRARY.parent),
        "--out",
        str(tmp_path),
        "--measure",
        "rd",
        "--method",
        "mh",
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "migraine.md").read_text()
    assert "RD " in text and "Mantel-Haenszel" in text


def test_cli_render_needs_a_condition_and_reports_template_errors(tmp_path):
    assert run("render", "--refs", str(RENDER_LIBRARY)).exit_code == 2
    (tmp_path / "page.html.j2").write_text("{% for %}\n")
    result = run(
        "render",
        "tinnitus",
        "--refs",
        str(RENDER_LIBRARY),
        "--out",
        str(tmp_path / "out"),
        "--templates",
        str(tmp_path),
    )
    assert result.exit_code == 2
    assert f"{tmp_path / 'page.html.j2'}:1: template error" in result.stderr


def test_cli_pooling_methods_and_measures_match_the_library():
    assert POOLING_METHODS == METHODS
    assert MEASURE_CHOICES == MEASURES


# --- every number comes from the library --------------------------------------------------


def test_every_number_in_the_example_paragraph_comes_from_the_library(example):
    """Each number is a value of refs/, a number written in its text fields, or one of the
    values worked out here by hand from those fields."""
    import re

    from evidence.analysis.formats import plain

    table = load_table([EXAMPLE_REFS]).table
    allowed = {str(i) for i in range(0, len(table) + 1)}  # counts of entries, tallies, citation numbers
    allowed.add("95")  # "95% CI"
    for _, row in table.iterrows():
        for column in ("year", "n", "responders", "control_n", "control_responders", "participants", "studies",
                       "response_rate", "response_rate_ci_low", "response_rate_ci_high", "control_response_rate"):  # fmt: skip
            value = plain(row[column])
            if value is not None:
                allowed.add(num(value))
        for column in ("extracted_from", "response_definition", "title"):
            if isinstance(row[column], str):
                allowed.update(re.findall(r"\d+(?:\.\d+)?", row[column]))
    # Worked out from those fields by the summary: the comparisons' effects, risks, counts and thresholds.
    for result in example.comparisons:
        pooled = result.pooled
        allowed.update(f"{v:.2f}" for v in (pooled.estimate, pooled.ci_lb, pooled.ci_ub))
        allowed.update({str(result.k), str(result.participants), num(pooled.events)})
    allowed.update({"300", "400"})  # the optimal information sizes (docs/summaries.md)
    text = render_paragraph(example, "text").split("\nReferences\n")[0]
    numbers = re.findall(r"\d+(?:\.\d+)?", text)
    assert numbers, "the paragraph has numbers"
    assert sorted(set(numbers) - allowed) == []


# --- what cannot be compared, and wording that must not come back ---------------------------


def test_studies_left_out_and_not_compared_are_named(migraine):
    from dataclasses import replace

    from evidence.analysis.comparisons import Arm, Comparison, Excluded, StudyComparison
    from evidence.analysis.summary import compare

    def trial(key, a, an, c, cn):
        return StudyComparison(
            key,
            "response",
            "",
            "dichotomous",
            "higher",
            Arm("acupuncture", "intervention", an, a, None, None),
            Arm("sham acupuncture", "control", cn, c, None, None),
            False,
            "rct",
            True,
            "primary",
            "double",
        )

    body = Comparison(
        "response",
        "",
        "dichotomous",
        "higher",
        "acupuncture",
        "sham acupuncture",
        (trial("linde2005", 74, 145, 43, 81), trial("second2006", 0, 116, 0, 66)),
        (),
        (),
    )
    labels = {s.key: s.label for s in migraine.studies}
    result = compare(body, labels, {s.key: s.citation for s in migraine.studies})
    assert [e.key for e in result.excluded] == ["second2006"]
    summary = replace(
        migraine, comparisons=(result,), not_compared=(Excluded("kappa2010", "no control arm", "pain", "week 4"),)
    )
    text = render_paragraph(summary, "text")
    assert "Second 2006 is left out of this comparison: " in text
    assert "Kappa 2010 cannot be compared with a control group on pain (week 4): no control arm." in text


def test_no_comparison_says_the_summary_cannot_say_whether_it_works(table):
    summary = summarize(table, "tinnitus", intervention="ear acupuncture")
    text = render_paragraph(summary, "text")
    assert text.startswith("No study here compares people given ear acupuncture with a comparison group")
    assert "certainty" not in text.lower()


@pytest.mark.parametrize("condition", ["tinnitus", "migraine"])
def test_public_pages_avoid_the_wording_found_by_a_new_user(table, condition):
    page = render_page(summarize(table, condition), "markdown", [])
    for wrong in ("The library holds", "Few people took part", "How these studies were designed", "diamonds"):
        assert wrong not in page, wrong


def test_one_study_is_described_in_the_singular(table, write_bib):
    bib = write_bib(
        "@article{solo1, author={Solo, Sam}, title={One trial}, year=2001, condition={hiccups},"
        " intervention={acupuncture}, comparator={sham}, design={rct}, country={UK}, blinding={double},"
        " n={30}, responders={12}, control_n={30}, control_responders={10}}\n"
    )
    summary = summarize(load_table([bib]).table, "hiccups")
    text = render_paragraph(summary, "text")
    assert "This summary covers 1 study of hiccups. Design: randomised controlled trial. Country: UK." in text
    assert "60 participants took part" in text
    assert text.startswith(
        "The evidence is very uncertain about the effect of acupuncture on response compared with sham"
        " (RR 1.20, 95% CI 0.61 to 2.34; 1 trial, 60 participants; very low certainty) [1]."
    )
    assert "This response rate counts treated people only. On its own, without a comparison group, it cannot" in text
    assert "the study report." in text and "studies" not in text.split("\n\n")[0]


def test_every_reason_is_worded_in_plain_language(migraine):
    from dataclasses import replace

    from evidence.analysis.certainty import Reason

    sham = next(c for c in migraine.comparisons if c.comparator == "sham acupuncture" and c.outcome == "response")
    rules = {
        "risk of bias": ["not-randomised", "unblinded", "secondary-data", "unverified-data"],
        "inconsistency": ["heterogeneity", "prediction-interval"],
        "imprecision": ["ci-includes-important", "ci-includes-both", "few-events", "few-participants"],
        "publication bias": ["publication-bias"],
    }
    for domain, names in rules.items():
        for rule in names:
            reason = Reason(domain, rule, 0 if domain == "publication bias" else -1, ("linde2005",), 12.0)
            rating = replace(
                sham.rating,
                reasons=() if reason.change == 0 else (reason,),
                notes=(reason,) if reason.change == 0 else (),
            )
            text = render_paragraph(replace(migraine, comparisons=(replace(sham, rating=rating),)), "text")
            first = text.split("\n\n")[0]
            said = first.split("because:")[-1] if reason.change else first.split("estimate.")[-1]
            assert len(said.strip()) > 20, rule
            assert "I²" not in said and "tau" not in said and "Q " not in said, rule


def test_the_issue_example_sentence_word_for_word(migraine):
    """The informative statement of issue 10, from a hand-made pooled effect: 2 trials, 1,471 participants."""
    from dataclasses import replace

    from evidence.analysis.stats import PooledEffect
    from evidence.analysis.summary import comparison_result

    sham = next(c for c in migraine.comparisons if c.comparator == "sham acupuncture" and c.outcome == "response")
    studies = tuple(
        replace(s, intervention=replace(s.intervention, n=n1, events=e1), control=replace(s.control, n=n2, events=e2))
        for s, (e1, n1, e2, n2) in zip(linde_like_studies(migraine), [(300, 500, 280, 500), (130, 236, 120, 235)])
    )
    comparison = replace(as_comparison(sham), studies=studies)
    pooled = PooledEffect(
        "rr", "dl", False, 1.06, 0.95, 1.17, 0.95, 1.17, 0.0, 0.0, 0.1, 0.75, 2, 1471, 830, (), (), ()
    )
    result = comparison_result(comparison, pooled, None, {}, {}, measure="rr", method="dl")
    assert result.rating.level == "high" and result.participants == 1471
    text = render_paragraph(replace(migraine, comparisons=(result,)), "text")
    assert text.startswith(
        "Acupuncture results in little to no difference in response compared with sham acupuncture "
        "(RR 1.06, 95% CI 0.95 to 1.17; 2 trials, 1,471 participants; high certainty) [1][2]."
    )


def linde_like_studies(summary):
    """The two sham-controlled StudyComparisons of the migraine test library, verified and double-blind."""
    from evidence.analysis.comparisons import Arm, StudyComparison

    return [
        StudyComparison(
            s.key,
            "response",
            "",
            "dichotomous",
            "higher",
            Arm("acupuncture", "intervention", 1, 0, None, None),
            Arm("sham acupuncture", "control", 1, 0, None, None),
            False,
            "rct",
            True,
            "primary",
            "double",
        )
        for s in summary.studies
        if s.key in ("linde2005", "second2006")
    ]


def as_comparison(result):
    from evidence.analysis.comparisons import Comparison

    return Comparison(
        result.outcome, result.timepoint, result.kind, result.better, result.intervention, result.comparator, (), (), ()
    )


def test_no_comparison_under_a_filter_names_the_filter(table):
    summary = summarize(table, "migraine", outcome="quality of life")
    text = render_paragraph(summary, "text")
    expected = "No study here compares people given the treatment with a comparison group on quality of life,"
    assert text.startswith(expected)


def test_a_prediction_interval_is_drawn_and_captioned_only_when_there_is_one(migraine):
    from dataclasses import replace

    from evidence.analysis.comparisons import Arm, Comparison, StudyComparison
    from evidence.analysis.summary import compare

    def trial(key, a, c):
        return StudyComparison(
            key,
            "response",
            "",
            "dichotomous",
            "higher",
            Arm("acupuncture", "intervention", 50, a, None, None),
            Arm("sham acupuncture", "control", 50, c, None, None),
            False,
            "rct",
            True,
            "primary",
            "double",
        )

    body = Comparison(
        "response",
        "",
        "dichotomous",
        "higher",
        "acupuncture",
        "sham acupuncture",
        (trial("linde2005", 10, 30), trial("second2006", 30, 10)),
        (),
        (),
    )
    labels = {s.key: s.label for s in migraine.studies}
    varied = compare(body, labels, {}, method="dl")
    assert varied.pooled.tau2 > 0 and varied.pooled.pi_lb < varied.pooled.ci_lb
    assert "heterogeneity" in [r.rule for r in varied.rating.reasons]
    fixed = compare(body, labels, {}, method="fixed")
    (drawn,) = forest_plots(replace(migraine, comparisons=(varied,)))
    (plain,) = forest_plots(replace(migraine, comparisons=(fixed,)))
    assert drawn.prediction_interval and not plain.prediction_interval
    page = render_page(replace(migraine, comparisons=(varied,)), "markdown", [replace(drawn, svg=PLACEHOLDER_SVG)])
    assert "with its 95% prediction interval" in page
    page = render_page(replace(migraine, comparisons=(fixed,)), "markdown", [replace(plain, svg=PLACEHOLDER_SVG)])
    assert "prediction interval (the line" not in page and "the pooled estimate (diamond" in page
    assert drawn.svg.count("<path") > plain.svg.count("<path")  # the interval's line and end marks


@settings(max_examples=15, deadline=None)
@given(
    label=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
    estimate=st.floats(0.02, 50.0),
    spread=st.floats(1.0, 30.0),
    log_scale=st.booleans(),
)
def test_any_label_and_interval_draws_a_plot(label, estimate, spread, log_scale):
    if not log_scale:
        estimate = estimate - 10.0
    low, high = (estimate / spread, estimate * spread) if log_scale else (estimate - spread, estimate + spread)
    rows = [PlotRow(label, estimate, low, high, "study", 100.0)]
    svg = forest_plot_svg(rows, log_scale, 1.0 if log_scale else 0.0, "RR [95% CI]", "Risk ratio")
    assert svg.startswith("<?xml") and svg.rstrip().endswith("</svg>")


def test_render_conditions_passes_thresholds(table, tmp_path):
    from evidence.analysis.certainty import Thresholds

    render_conditions(table, ["migraine"], tmp_path, thresholds=Thresholds(events=100, participants=100))
    text = (tmp_path / "migraine.md").read_text()
    assert "fewer than 300" not in text and "This outcome was seen only 30 times in all (fewer than 100 events)" in text
