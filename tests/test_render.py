"""Paragraphs and pages: goldens, escaping, template overrides and errors, the plot, the CLI.

Golden files live in tests/golden/render/; rewrite them with
``EVIDENCE_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`` and review the diff.
The golden pages use a placeholder for the plot, so they do not depend on the
matplotlib version; the plot is tested for determinism on its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import Markup

from evidence.cli import POOLING_METHODS, cli
from evidence.errors import EvidenceError
from evidence.pages.render import (
    build_page,
    forest_plot_svg,
    join_and,
    num,
    pct,
    plural,
    render_conditions,
    render_page,
    render_paragraph,
    safe_reference,
)
from evidence.analysis.stats import METHODS
from evidence.analysis.summary import summarize
from evidence.library.table import load_table

from conftest import EXAMPLE_REFS, RENDER_LIBRARY, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden" / "render"
PLACEHOLDER_SVG = '<svg xmlns="http://www.w3.org/2000/svg" id="placeholder"></svg>'


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
    check_golden("tinnitus.page.md", render_page(tinnitus, "markdown", PLACEHOLDER_SVG))
    check_golden("tinnitus.page.html", render_page(tinnitus, "html", PLACEHOLDER_SVG))


def test_tinnitus_text_paragraph_golden(tinnitus):
    check_golden("tinnitus.paragraph.txt", render_paragraph(tinnitus, "text"))


def test_committed_example_reports_are_up_to_date(example):
    """reports/ holds the example library's pages; regenerate with `evidence render --all`."""
    page = dict(build_page(example).files)
    committed = ROOT / "reports" / "restless-legs-syndrome.md"
    assert committed.exists(), "run: evidence render --all"
    assert committed.read_text(encoding="utf-8") == page["restless-legs-syndrome.md"], "reports/ is stale: run evidence render --all"


# --- what the paragraph must say ------------------------------------------------


def test_example_paragraph_names_studies_without_data_and_the_causal_caution(example):
    text = render_paragraph(example, "text")
    assert "27 of 40" in text and "67.5% (95% CI 52.0% to 79.9%)" in text
    assert "at least 70%" in text and "It has not been verified." in text
    assert "cannot show that the treatment caused the improvement" in text
    for label in ("Zhou 2002 [6]", "Dai 2006 [7]", "Tan 2005 [12]"):
        assert label in text
    assert "\n[12] " in text  # the numbered reference list ends the paragraph


def test_author_year_citations(table):
    summary = summarize(table, "tinnitus", citations="author-year")
    text = render_paragraph(summary, "markdown")
    assert "[1]" not in text
    items = [line for line in text.split("**References**")[1].splitlines() if line]
    assert items and all(line.startswith("- ") for line in items)  # a bulleted list, not numbered


def test_json_format_is_the_summary_data(tinnitus):
    data = json.loads(render_paragraph(tinnitus, "json"))
    assert data["pooled"]["k"] == 3 and data["certainty"]["level"] == "very low"


# --- escaping ---------------------------------------------------------------------


def test_html_escapes_a_script_title(tinnitus):
    html = render_page(tinnitus, "html", PLACEHOLDER_SVG)
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_every_field_is_autoescaped_in_html_templates(tinnitus, tmp_path):
    (tmp_path / "paragraph.html.j2").write_text("{{ summary.studies[1].title }}\n")
    html = render_paragraph(tinnitus, "html", templates=tmp_path)
    assert html == 'Acupuncture for tinnitus &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;\n'


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
    (tmp_path / "paragraph.md.j2").write_text("{{ summary.condition }}: {{ summary.counted|length|plural('study') }} with counts\n")
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
        render_page(tinnitus, "markdown", None, templates=tmp_path)
    assert str(error.value).startswith(f"{path}:3: template error")
    assert "no_such_thing" in str(error.value)


def test_a_missing_templates_folder_is_an_error(tinnitus, tmp_path):
    with pytest.raises(EvidenceError, match="templates folder not found"):
        render_paragraph(tinnitus, "markdown", templates=tmp_path / "nope")


# --- the forest plot and determinism -----------------------------------------------------


def test_forest_plot_is_deterministic_and_labelled(tinnitus):
    svg = forest_plot_svg(tinnitus)
    assert svg == forest_plot_svg(tinnitus)
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "<dc:date>" not in svg
    for label in ("Alpha 2001", "Beta 2002", "Delta 2003", "Zeta 2005 (published CI)", "Pooled, 3 studies (DL)"):
        assert label in svg


def test_nothing_to_plot_gives_no_svg_file(table, tmp_path):
    summary = summarize(table, "tinnitus", intervention="ear acupuncture")  # only a bound
    assert forest_plot_svg(summary) is None
    page = build_page(summary)
    assert [name for name, _ in page.files] == ["tinnitus-ear-acupuncture.md", "tinnitus-ear-acupuncture.html"]
    assert "nothing to plot" in dict(page.files)["tinnitus-ear-acupuncture.md"]


def test_pages_are_byte_identical_across_runs(table, tmp_path):
    first = render_conditions(table, ["tinnitus", "migraine"], tmp_path / "a")
    second = render_conditions(table, ["tinnitus", "migraine"], tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second] == [
        "tinnitus.md", "tinnitus.html", "tinnitus.svg", "migraine.md", "migraine.html", "migraine.svg",
    ]  # fmt: skip
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
    html = (tmp_path / "a" / "tinnitus.html").read_text()
    assert "<svg" in html and "<?xml" not in html  # inlined without its prolog
    assert "![Forest plot" in (tmp_path / "a" / "tinnitus.md").read_text()


# --- filters ------------------------------------------------------------------------------


def test_filters():
    assert pct(67.5) == "67.5%" and pct(None) == "not available"
    assert num(70.0) == "70" and num(47.8) == "47.8" and num(12) == "12"
    assert plural(1, "study") == "1 study" and plural(2, "study") == "2 studies"
    assert join_and(["a", "b", "c"]) == "a, b and c" and join_and([]) == ""
    joined = join_and([Markup("<i>a</i>"), "<b>"])
    assert isinstance(joined, Markup) and joined == "<i>a</i> and &lt;b&gt;"


# --- CLI wiring ------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="evidence")


def test_cli_summarize_example():
    result = run("summarize", "restless legs syndrome", "--refs", str(EXAMPLE_REFS))
    assert result.exit_code == 0, result.output
    assert "67.5% (95% CI 52.0% to 79.9%)" in result.stdout
    assert json.loads(run("summarize", "restless legs", "--refs", str(EXAMPLE_REFS), "--format", "json").stdout)["slug"] == (
        "restless-legs-syndrome"
    )


def test_cli_summarize_unknown_condition_lists_known_ones():
    result = run("summarize", "restless arms", "--refs", str(EXAMPLE_REFS))
    assert result.exit_code == 2
    assert "known conditions, closest first: restless legs syndrome" in result.stderr


def test_cli_render_all(tmp_path):
    result = run("render", "--all", "--refs", str(RENDER_LIBRARY), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "migraine.html", "migraine.md", "migraine.svg", "tinnitus.html", "tinnitus.md", "tinnitus.svg",
    ]  # fmt: skip
    assert str(tmp_path / "tinnitus.html") in result.stdout


def test_cli_render_needs_a_condition_and_reports_template_errors(tmp_path):
    assert run("render", "--refs", str(RENDER_LIBRARY)).exit_code == 2
    (tmp_path / "page.html.j2").write_text("{% for %}\n")
    result = run("render", "tinnitus", "--refs", str(RENDER_LIBRARY), "--out", str(tmp_path / "out"), "--templates", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path / 'page.html.j2'}:1: template error" in result.stderr


def test_cli_pooling_methods_match_the_library():
    assert POOLING_METHODS == METHODS


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
    # Worked by hand from shi2003 (27/40 vs 18/40): rate, Wilson CI, control rate, risk ratio and
    # its Katz CI; the CI width the certainty rule tested; participants in all (shi2003's 120).
    allowed.update({"67.5", "52.0", "79.9", "45.0", "1.50", "1.00", "2.25", "27.9", "120"})
    text = render_paragraph(example, "text").split("\nReferences\n")[0]
    numbers = re.findall(r"\d+(?:\.\d+)?", text)
    assert numbers, "the paragraph has numbers"
    assert sorted(set(numbers) - allowed) == []
