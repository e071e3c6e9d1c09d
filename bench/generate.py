"""Write a deterministic, realistic .bib library of N entries for benchmarks.

Mixed entry types, authors with LaTeX accents, braces in titles, ``@string``
and month macros, comments, DOIs, abstracts on about half the entries and
outcome fields on about a third.  The same N and seed always give the same
bytes, so benchmark runs compare like with like.

    python bench/generate.py 10000 bench/out/lib-10000.bib
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

FAMILIES = [
    "Wang",
    "Yang",
    "Li",
    "Zhang",
    "Chen",
    "Smith",
    "Jones",
    'M{\\"u}ller',
    "Garc{\\'\\i}a",
    "Nu{\\~n}ez",
    "{\\O}stergaard",
    "Dvo{\\v{r}}{\\'a}k",
    "Lef{\\`e}vre",
    "Kim",
    "Park",
    "Nguyen",
    "Rossi",
    "Brown",
    "Sato",
    "Silva",
]
GIVEN = ["D. Y.", "Y. D.", "Hans", "Mar{\\'\\i}a", "J. P.", "Anne-Marie", "Lars", "S.", "K. L.", "Jos{\\'e}"]
WORDS = [
    "acupuncture",
    "restless",
    "legs",
    "syndrome",
    "trial",
    "randomised",
    "effect",
    "sleep",
    "therapy",
    "outcomes",
    "patients",
    "electroacupuncture",
    "herbal",
    "massage",
    "placebo",
    "controlled",
    "pilot",
    "study",
    "pain",
    "dopamine",
]
JOURNALS = ["zgzj", "sleepmed", "cochrane", "{Journal of {TCM}}", "{Annals of Palliative Medicine}", "{BMJ Open}"]
CONDITIONS = ["restless legs syndrome", "insomnia", "chronic pain", "migraine", "tinnitus"]
INTERVENTIONS = ["acupuncture", "electroacupuncture", "massage", "herbal medicine", "exercise"]
DESIGNS = ["rct", "quasi-rct", "cohort", "case-series", "other"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
HEADER = """% Generated benchmark library: deterministic, not real data.
@string{zgzj = {Chinese Acupuncture and Moxibustion}}
@string{sleepmed = {Sleep Medicine}}
@string{cochrane = {Cochrane Database of Systematic Reviews}}
@preamble{"\\newcommand{\\noopsort}[1]{#1}"}

"""


def entry(index: int, rng: random.Random) -> str:
    kind = rng.choices(["article", "inproceedings", "book", "misc"], weights=[80, 10, 5, 5])[0]
    authors = " and ".join(f"{rng.choice(FAMILIES)}, {rng.choice(GIVEN)}" for _ in range(rng.randint(1, 5)))
    words = rng.sample(WORDS, rng.randint(4, 9))
    words[0] = words[0].capitalize()
    if rng.random() < 0.4:
        words[rng.randrange(len(words))] = "{RLS}"
    year = rng.randint(1970, 2025)
    lines = [
        f"@{kind}{{{rng.choice(WORDS)[:4]}{year}n{index},",
        f"  author = {{{authors}}},",
        f"  title = {{{' '.join(words)}}},",
    ]
    container = {"article": "journal", "inproceedings": "booktitle", "book": "publisher", "misc": "howpublished"}[kind]
    lines.append(f"  {container} = {rng.choice(JOURNALS)},")
    lines.append(f"  year = {year},")
    if rng.random() < 0.5:
        lines.append(f"  month = {rng.choice(MONTHS)},")
    first = rng.randint(1, 900)
    lines.append(f"  pages = {{{first}--{first + rng.randint(1, 15)}}},")
    lines.append(f"  volume = {{{rng.randint(1, 60)}}}, number = {{{rng.randint(1, 12)}}},")
    if rng.random() < 0.7:
        lines.append(f"  doi = {{10.{rng.randint(1000, 9999)}/bench.{index}}},")
    if rng.random() < 0.5:
        abstract = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
        lines.append(f"  abstract = {{{abstract}. Results: 70\\% improved.}},")
    if rng.random() < 0.33:
        n = rng.randint(10, 400)
        responders = rng.randint(0, n)
        lines += [
            f"  condition = {{{rng.choice(CONDITIONS)}}},",
            f"  intervention = {{{rng.choice(INTERVENTIONS)}}},",
            f"  design = {{{rng.choice(DESIGNS)}}},",
            "  country = {China},",
            f"  n = {{{n}}},",
            f"  responders = {{{responders}}},",
            "  response_definition = {cured or markedly improved},",
        ]
    lines.append("}")
    comment = f"% entry {index}\n" if rng.random() < 0.1 else ""
    return comment + "\n".join(lines) + "\n\n"


def generate(count: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return HEADER + "".join(entry(i, rng) for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(generate(args.count, args.seed), encoding="utf-8")


if __name__ == "__main__":
    main()
