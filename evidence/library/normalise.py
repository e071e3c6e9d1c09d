"""Turn raw BibTeX field values into clean display values.

``evidence.library.files`` resolves ``@string`` macros and strips the outer braces;
what is left may still hold LaTeX (``M{\\"u}ller``, ``{RLS}``, ``13--14``).  Its own
LaTeX-decoding middleware runs pylatexenc over every value, which costs about
25 times the parse itself on a large library.  Here a value is decoded only
when it holds something LaTeX could change, and then chunk by chunk: the
value is cut at white space where pylatexenc's result cannot depend on the
cut, plain words are handled with string replacements, and each chunk with
LaTeX in it goes to pylatexenc once per library (``functools.lru_cache``):
chunks such as ``{\\TeX}`` and ``M{\\"u}ller`` recur, whole titles and
abstracts do not, and pylatexenc's cost grows with every character it
reads.  :func:`decode_latex_whole`, which gives pylatexenc the whole value,
is kept as the reference the tests hold the chunks to.  Names are split on
the raw value, because braces protect corporate names (``{World Health
Organization}``) and decoding first would drop them; the commonest lists
and names are split by regular expressions held to bibtexparser's own
character-by-character functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

_DASHES = re.compile(r"\s*(?:--+|\u2013|\u2014)\s*|\s+-\s*|\s*-\s+")
_SPACES = re.compile(r"\s+")

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


@lru_cache(maxsize=1)
def _decoder():  # pragma: no cover - trivial factory
    """The same pylatexenc decoder bibtexparser's LatexDecodingMiddleware builds."""
    from bibtexparser.middlewares.latex_encoding import LatexDecodingMiddleware

    return LatexDecodingMiddleware()._decoder


@lru_cache(maxsize=1)
def _walker_context():  # pragma: no cover - trivial factory
    """pylatexenc's default parsing context, built once: ``LatexWalker`` otherwise builds it for every value."""
    from pylatexenc.latexwalker import get_default_latex_context_db

    return get_default_latex_context_db()


def _latex_to_text(latex: str) -> str:
    """pylatexenc's ``latex_to_text`` (as bibtexparser configures it), with the parsing context reused."""
    return _decoder().latex_to_text(latex, latex_context=_walker_context())


@lru_cache(maxsize=1 << 16)
def _decode_with_pylatexenc(value: str) -> str:
    """The full decoding: math to Unicode first, then pylatexenc (which leaves math as written)."""
    if "$" in value or "\\(" in value:
        value = math_to_unicode(value)
    try:
        return _decoder().latex_to_text(value)
    except Exception:  # pylatexenc fails on some macros it half knows: see _undecoded
        return _undecoded(value)


def _undecoded(value: str) -> str:
    """What a value shows when pylatexenc raises on it: as written, but for braces and ligatures.

    pylatexenc parses ``\\href`` as a macro without arguments and then
    formats it as one with two, and fails (an ``IndexError``); a title that
    cites a URL so must not stop a load.  Nothing is dropped: the macros
    stay in the text, where ``check`` and a reader can see them.
    """
    value = _replace_ligatures(value)
    return value.replace("{", "").replace("}", "")


#: Characters that ``\\`` merely escapes; every other backslash starts a macro.
_SIMPLE_ESCAPES = frozenset("%&_#$")
#: TeX ligatures pylatexenc turns into typographic characters, in the order it applies them.
_LIGATURES = (("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"))


def decode_latex(value: str) -> str:
    """Return ``value`` as Unicode text, with white space folded.

    Three paths, cheapest first: no markup passes through; protective braces
    (``{RLS} in {C}hina``), the escaped characters ``\\% \\& \\_ \\#``
    (common in abstracts, and unique per entry, so a cache would not help)
    and the ligatures ``--``, ``---``, ````` and ``''`` are handled with
    string replacements; anything else (accents, macros, math, ties) is cut
    into chunks at white space where pylatexenc's result cannot depend on
    the cut, and each chunk with LaTeX in it is decoded once per library
    (:func:`_decode_by_chunks`): ``\\TeX`` and ``{\\"u}`` recur across a
    library, whole titles and abstracts do not, and pylatexenc's cost grows
    with every character it reads.  Every test is ``in`` or ``find``: a
    regular expression over each abstract cost more than the decoding.
    Property tests and a sample of real values hold the result to
    :func:`decode_latex_whole`, which gives pylatexenc the whole value.
    """
    return _decoded(value, _decode_by_chunks)


def decode_latex_whole(value: str) -> str:
    """The reference for :func:`decode_latex`: a value that needs pylatexenc is given to it whole.

    Slower (pylatexenc reads every character of every such value), and kept
    so that tests can hold the chunked decoding to it.
    """
    return _decoded(value, _decode_with_pylatexenc)


def _decoded(value: str, decoder: Callable[[str], str]) -> str:
    """The paths of :func:`decode_latex`, with ``decoder`` for values that need pylatexenc."""
    if "\\" in value or "$" in value or "~" in value or "^" in value:
        if _needs_decoder(value):
            value = decoder(value)
        else:
            value = _replace_ligatures(value).replace("{", "").replace("}", "")
            for char in "%&_#":
                value = value.replace("\\" + char, char)
    else:
        if "-" in value or "`" in value or "'" in value:
            value = _replace_ligatures(value)
        if "{" in value or "}" in value:
            value = value.replace("{", "").replace("}", "")
    if "\n" in value or "  " in value or "\t" in value:
        value = _SPACES.sub(" ", value)
    return value.strip()


_WHITE_SPACE = re.compile(r"(\s+)")
#: Where a cut could change what pylatexenc does on either side: a comment (``%`` runs to the end of the
#: line), math left after :func:`math_to_unicode`, environments and verbatim text, which span white space.
_UNCUTTABLE = ("\\(", "\\[", "\\begin", "\\verb", "\\\\")
_ESCAPED = re.compile(r"\\.", re.S)
#: Characters after which a word needs pylatexenc; a word without them is decoded by string replacements.
_MARKUP = ("\\", "~", "^", "&", "#", "%")


def _decode_by_chunks(value: str) -> str:
    """pylatexenc's result for ``value`` (white space aside), from chunks decoded one at a time.

    The value (its math already turned into Unicode, as the whole-value path
    does) is cut only at white space outside braces, and only where nothing
    on the left can reach across: not after a macro (``\\TeX is``: the
    macro eats the space; ``\\c c``: the ``c`` is its argument), not after
    a group that may be an argument (``\\frac{1} {2}``), not inside a
    comment (``%`` to the end of its line), and not at all in a value with
    math left over, an environment, verbatim text, a line break or
    unbalanced braces, which is decoded whole.  pylatexenc keeps the white
    space between such chunks as white space (it may change how much, which
    :func:`decode_latex` folds anyway), so the joined chunks give the whole
    value's text.  Runs of plain words go together, by string replacements.
    """
    if "$" in value or "\\(" in value:
        value = math_to_unicode(value)
    try:
        if _unescaped("$", value) or any(mark in value for mark in _UNCUTTABLE):
            return _latex_to_text(value)
        if "%" in value:  # a comment on the last line runs to the end of the value: pylatexenc drops it
            last_line = value.rfind("\n") + 1
            at = _comment_start(value[last_line:])
            if at >= 0:
                return _decode_cut(value[: last_line + at])
        return _decode_cut(value)
    except Exception:  # pylatexenc failed on a chunk: the whole value as the whole-value path shows it
        return _undecoded(value)


def _unescaped(char: str, value: str) -> bool:
    """Whether ``char`` occurs in ``value`` other than as ``\\char`` (a value with ``\\\\`` is never cut)."""
    return char in value and value.count(char) != value.count("\\" + char)


#: A word holding none of these is plain text: decoded by string replacements, and never reaching right.
_NOT_PLAIN = re.compile(r"[\\{}~^&#%$\[\]*]")


def _decode_cut(value: str) -> str:
    """:func:`_decode_by_chunks` for a value that may be cut: its math done, nothing uncuttable in it."""
    parts = _WHITE_SPACE.split(value)
    out: list[str] = []
    chunk: list[str] = []
    plain = True  # whether the chunk so far is plain words
    depth = 0
    comment = False  # inside a comment, which pylatexenc reads to the end of its line
    reaching = False  # whether what came before the comment may take what comes after it as an argument
    joined = False  # whether the current word was kept with the one before it
    for index in range(0, len(parts), 2):
        word = parts[index]
        if index:
            space = parts[index - 1]
            ended = comment and "\n" in space
            if ended:
                comment = False
            word_plain = not _NOT_PLAIN.search(word)
            if depth or comment or (ended and reaching) or _reaches_right(parts[index - 2], joined):
                chunk += (space, word)
                plain = plain and word_plain
                joined = True
            elif plain and word_plain:  # a run of plain words is decoded in one go
                chunk += (space, word)
                joined = False
            else:
                out.append(_replace_ligatures("".join(chunk)) if plain else _decode_chunk("".join(chunk)))
                out.append(space)
                chunk = [word]
                plain = word_plain
                joined = False
        else:
            chunk.append(word)
            plain = not _NOT_PLAIN.search(word)
        if comment:
            continue
        if "%" in word:
            at = _comment_start(word)
            if at >= 0:
                comment = True
                reaching = _reaches_right(word[:at], joined) if at else bool(index) and joined
                word = word[:at]
        if "{" in word or "}" in word:
            depth += _brace_balance(word)
            if depth < 0:
                return _latex_to_text(value)
    if depth:
        return _latex_to_text(value)
    out.append(_replace_ligatures("".join(chunk)) if plain else _decode_chunk("".join(chunk)))
    return "".join(out)


def _comment_start(word: str) -> int:
    """Where a comment starts in ``word``: its first ``%`` not escaped by a backslash (-1 if none)."""
    at = word.find("%")
    while at >= 0:
        backslashes = at - len(word[:at].rstrip("\\"))
        if backslashes % 2 == 0:
            return at
        at = word.find("%", at + 1)
    return -1


def _reaches_right(word: str, joined: bool) -> bool:
    """Whether pylatexenc may read past the white space after ``word`` (a macro's argument or space).

    ``joined`` says whether ``word`` was kept with the word before it, so that
    a group standing at its start may be that word's macro's argument.
    """
    if "\\" in word and _trailing_macro(word) is not None:
        return True  # \\TeX eats the space after it; \\c takes the next letter
    if word.endswith(("]", "*")):
        return True
    if word.endswith("}"):
        return _arguments_may_follow(word, joined)
    return False


def _ends_open(text: str) -> bool:
    """Whether pylatexenc, at the end of ``text``, may still be reading a macro's arguments.

    Only what takes arguments matters here: with nothing after it, a macro
    without arguments (``\\LaTeX``) reads the same before a closing brace as
    at the end of the text.
    """
    text = text.rstrip()
    name = _trailing_macro(text) if "\\" in text else None
    if name is not None:
        spec = _walker_context().get_macro_spec(name)
        return spec is not None and getattr(getattr(spec, "args_parser", None), "argspec", None) != ""
    return _reaches_right(text, False)


def _arguments_may_follow(text: str, joined: bool) -> bool:
    """For ``text`` ending in a group: whether a macro before it may take more arguments after it.

    The groups are counted back to the macro they follow; pylatexenc's own
    argument specification for that macro (its parsing context) says how
    many it takes.  ``\\acro{PDF}`` takes none (it is unknown), ``\\emph{x}``
    one, so the next word is not theirs; ``\\frac{1}`` may be followed by its
    second argument.  Anything less plain (optional arguments, starred
    forms, white space between the groups) counts as open.
    """
    groups = 0
    while text.endswith("}"):
        opener = _group_start(text)
        if opener < 0:
            return True
        groups += 1
        text = text[:opener]
    if text[-1:].isspace():  # a group after white space is an argument only of what comes before that
        text = text.rstrip()
        return joined if not text else text.endswith(("}", "]", "*")) or _trailing_macro(text) is not None
    if not text:
        return joined
    if text.endswith(("]", "*")):
        return True
    name = _trailing_macro(text) if "\\" in text else None
    if name is None:
        return False
    spec = _walker_context().get_macro_spec(name)
    if spec is None:
        return False  # an unknown macro takes no arguments
    argspec = getattr(getattr(spec, "args_parser", None), "argspec", None)
    return not (isinstance(argspec, str) and set(argspec) <= {"{"} and len(argspec) <= groups)


def _trailing_macro(text: str) -> str | None:
    """The name of the macro ``text`` ends with (``TeX``, ``'``, ``\\``, or empty for a lone backslash), if any.

    A macro's name is one character that is not a letter, or letters as
    pylatexenc reads them (``str.isalpha``, so ``\\TeXα`` is one macro).
    """
    at = text.rfind("\\")
    if at < 0:
        return None
    escaped = (at - len(text[:at].rstrip("\\"))) % 2 == 1  # the backslash is the name of ``\\\\``
    name = text[at + 1 :]
    if escaped:
        return "\\" if not name else None
    return name if len(name) <= 1 or name.isalpha() else None


def _brace_balance(word: str) -> int:
    """Opening minus closing braces in ``word``, escaped braces (``\\{``) not counted."""
    if "\\" in word:
        word = _ESCAPED.sub("", word)
    return word.count("{") - word.count("}")


def _group_start(word: str) -> int:
    """Where the group that closes at the end of ``word`` opens (-1 if it opens before ``word``, or none closes)."""
    depth = 0
    index = len(word) - 1
    while index >= 0:
        char = word[index]
        escaped = False
        back = index - 1
        while back >= 0 and word[back] == "\\":
            escaped = not escaped
            back -= 1
        if index == len(word) - 1 and (escaped or char != "}"):
            return -1
        if not escaped:
            if char == "}":
                depth += 1
            elif char == "{":
                depth -= 1
                if depth == 0:
                    return index
        index -= 1
    return -1


@lru_cache(maxsize=1 << 16)
def _decode_chunk(chunk: str) -> str:
    """One chunk of a value: by string replacements when it holds no markup, else by pylatexenc, once.

    A chunk that is one group (``{The {\\TeX}book, a review}``, as titles are
    often braced whole) is pylatexenc's text of what is inside, so that is
    cut into chunks in turn.
    """
    if chunk.startswith("{") and chunk.endswith("}") and "%" not in chunk and _group_start(chunk) == 0:
        inside = chunk[1:-1]
        if not _ends_open(inside):  # a macro at the end would meet the closing brace, not the end
            return _decode_cut(inside)
    if any(mark in chunk for mark in _MARKUP):
        if "\\" not in chunk:
            return _latex_to_text(chunk)
        letters = _ACCENTED.sub(_accented_letter, chunk)
        if any(mark in letters for mark in _MARKUP):
            return _latex_to_text(chunk)
        chunk = letters
    chunk = _replace_ligatures(chunk)
    if "{" in chunk or "}" in chunk:
        chunk = chunk.replace("{", "").replace("}", "")
    return chunk


_ACCENT_SIGNS = "`'^\"~=."
_LETTER_ACCENTS = "cvkHurdb"
_SPECIAL_LETTERS = "ss|o|O|aa|AA|ae|AE|oe|OE|l|L|i|j"
#: Accented and special letters in the forms names and titles write them: ``{\\"u}``, ``\\"u``, ``\\"{u}``,
#: ``{\\"{u}}``, ``\\c{c}``, ``{\\c c}``, ``{\\v{s}}``, ``{\\'\\i}``, ``{\\ss}``, ``\\o{}``.
_ACCENTED = re.compile(
    rf"""\{{\\[{_ACCENT_SIGNS}](?:[A-Za-z]|\{{[A-Za-z]\}}|\\[ij])\}}"""
    rf"""|\\[{_ACCENT_SIGNS}](?:[A-Za-z]|\{{[A-Za-z]\}})"""
    rf"""|\{{\\[{_LETTER_ACCENTS}](?:\{{[A-Za-z]\}}| [A-Za-z])\}}|\\[{_LETTER_ACCENTS}]\{{[A-Za-z]\}}"""
    rf"""|\{{\\(?:{_SPECIAL_LETTERS})\}}|\\(?:{_SPECIAL_LETTERS})\{{\}}"""
)


def _accented_letter(match: re.Match[str]) -> str:
    return _accent_text(match.group())


@lru_cache(maxsize=4096)
def _accent_text(accent: str) -> str:
    """pylatexenc's text of one accented letter, asked once per form: in a chunk with no other markup it
    is a whole node (a group, or an accent and its letter), so its text does not depend on its neighbours."""
    return _latex_to_text(accent)


def _replace_ligatures(value: str) -> str:
    for ligature, character in _LIGATURES:
        if ligature in value:
            value = value.replace(ligature, character)
    return value


def _needs_decoder(value: str) -> bool:
    """Whether ``value`` holds math, a tie, or a backslash that is not a simple escape."""
    if "$" in value or "~" in value or "^" in value:
        return True
    at = value.find("\\")
    while at >= 0:
        if value[at + 1 : at + 2] not in _SIMPLE_ESCAPES:  # a macro, or a backslash at the very end
            return True
        at = value.find("\\", at + 2)
    return False


# --- math -------------------------------------------------------------------

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡ",
    )
)
_SUPERSCRIPTS.update({"\u2212": "⁻", "*": "*", "\u2032": "\u2032", "'": "\u2032", "∘": "°", "°": "°"})
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ"))
_SUBSCRIPTS["\u2212"] = "₋"
#: Macros whose argument is shown as it is (fonts and text inside math).
_FONT_MACROS = frozenset(
    [
        "mathrm",
        "mathit",
        "mathbf",
        "mathsf",
        "mathtt",
        "mathnormal",
        "mathcal",
        "mathbb",
        "mathfrak",
        "mathscr",
        "boldsymbol",
        "bm",
        "text",
        "textrm",
        "textit",
        "textbf",
        "textsf",
        "texttt",
        "textup",
        "textnormal",
        "mbox",
        "hbox",
        "operatorname",
        "rm",
        "it",
        "bf",
        "cal",
        "mathup",
        "emph",
    ]
)
_SPACING_MACROS = {
    ",": "\u2009",
    ";": " ",
    ":": " ",
    "!": "",
    " ": " ",
    "quad": " ",
    "qquad": " ",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigg": "",
    "Bigg": "",
    "displaystyle": "",
    "textstyle": "",
    "limits": "",
    "nolimits": "",
}
_MATH = re.compile(r"(?<!\\)\$\$?((?:[^$\\]|\\.)+?)\$\$?|\\\((.+?)\\\)", re.S)


def math_to_unicode(value: str) -> str:
    """Replace each ``$...$`` (and ``\\(...\\)``) in ``value`` with Unicode text where Unicode has the characters.

    Greek letters and symbols come from pylatexenc's table; ``x_2`` and
    ``x^{2}`` become ``x₂`` and ``x²`` when every character has a sub- or
    superscript form, and ``x_{max}``-style text otherwise (``x_max``); font
    macros (``\\mathrm{CO}``) keep their argument.  A macro with no Unicode
    form is written as its name (``\\foo`` -> ``foo``), so nothing is dropped
    silently; the result depends only on the input.
    """
    return _MATH.sub(lambda m: _math_text(m.group(1) if m.group(1) is not None else m.group(2)), value)


def _math_text(math: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(math):
        piece, position = _math_atom(math, position)
        out.append(piece)
    return "".join(out)


def _math_atom(math: str, at: int) -> tuple[str, int]:
    """The Unicode text of the atom starting at ``at``, and where the next one starts."""
    char = math[at]
    if char == "{":
        end = _group_end(math, at)
        return _math_text(math[at + 1 : end]), end + 1
    if char in "_^":
        at += 1
        while at < len(math) and math[at] == " ":
            at += 1
        if at >= len(math):
            return char, at
        argument, after = _math_atom(math, at)
        table = _SUBSCRIPTS if char == "_" else _SUPERSCRIPTS
        if argument and all(c in table for c in argument):
            return "".join(table[c] for c in argument), after
        return char + argument, after
    if char == "\\":
        match = re.compile(r"\\([A-Za-z]+|.)\s*").match(math, at)
        if match is None:
            return char, at + 1
        name, after = match.group(1), match.end()
        if name == "mathbb" and after < len(math) and math[after] == "{":
            end = _group_end(math, after)
            return "".join(_double_struck(c) for c in _math_text(math[after + 1 : end])), end + 1
        if name.startswith("bbb") and len(name) == 4:  # LNCS's \bbbz, \bbbr ...
            return _double_struck(name[3].upper()), after
        if name in _FONT_MACROS and after < len(math) and math[after] == "{":
            end = _group_end(math, after)
            return _math_text(math[after + 1 : end]), end + 1
        if name in ("sqrt", "frac", "dfrac", "tfrac") and after < len(math) and math[after] == "{":
            first, after = _math_atom(math, after)
            if name == "sqrt":
                return "\u221a" + (first if len(first) == 1 else f"({first})"), after
            while after < len(math) and math[after] == " ":
                after += 1
            second, after = _math_atom(math, after) if after < len(math) else ("", after)
            return f"{first}/{second}", after
        if name in _SPACING_MACROS:
            return _SPACING_MACROS[name], after
        if not name.isalpha():
            return name, after  # \{ \} \% \$ \& \# \_
        symbol = _math_symbol(name)
        if symbol is None:  # no Unicode form known: its name, so nothing is silently dropped
            return name + (" " if math[after - 1 : after] == " " else ""), after
        if symbol[-1].isalnum() and math[after - 1 : after] == " " and math[after : after + 1].isalnum():
            symbol += " "  # \log n
        return symbol, after
    if char == "-":
        return "\u2212" if at + 1 < len(math) or at > 0 else "-", at + 1
    if char == "~":
        return "\u00a0", at + 1
    return char, at + 1


_DOUBLE_STRUCK = {
    "C": "\u2102",
    "H": "\u210d",
    "N": "\u2115",
    "P": "\u2119",
    "Q": "\u211a",
    "R": "\u211d",
    "Z": "\u2124",
}


def _double_struck(char: str) -> str:
    """``\\mathbb{R}`` -> ``ℝ``: the letters Unicode has as double-struck, the others as they are."""
    if char in _DOUBLE_STRUCK:
        return _DOUBLE_STRUCK[char]
    if "A" <= char <= "Z":
        return chr(0x1D538 + ord(char) - ord("A"))
    return char


def _group_end(text: str, start: int) -> int:
    """Index of the brace closing the group opened at ``start`` (the end of the text if unbalanced)."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += 1 if char == "{" else -1 if char == "}" else 0
        if depth == 0:
            return index
        index += 1
    return len(text) - 1 if text.endswith("}") else len(text)


@lru_cache(maxsize=1024)
def _math_symbol(name: str) -> str | None:
    """The Unicode character pylatexenc's table gives macro ``\\name``, if it is a plain symbol."""
    from pylatexenc.latex2text import get_default_latex_context_db

    spec = get_default_latex_context_db().get_macro_spec(name)
    replacement = getattr(spec, "simplify_repl", None)
    if isinstance(replacement, str) and "%" not in replacement and replacement.strip():
        return replacement
    return None


#: The family name "and others" gets: shown as "et al.", written back as "others" by the exporters.
ETAL = "et al."


_INITIAL_BREAKS = re.compile(r"[\s.\-]+")


@dataclass(frozen=True)
class Name:
    """One person (or organisation) from an author or editor field."""

    family: str
    given: str = ""
    suffix: str = ""
    #: ``Dong-Yan`` -> ``DY``; ``D. Y.`` -> ``DY``: Vancouver-style initials.
    initials: str = field(init=False, repr=False, compare=False)
    #: ``Wang DY``: the form condition pages and Vancouver styles use.
    short: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once when the name is made: every row asks for them, and each distinct name is made once
        parts = _INITIAL_BREAKS.split(self.given) if self.given else ()
        initials = "".join(p[0].upper() for p in parts if p and p[0].isalpha())
        object.__setattr__(self, "initials", initials)
        object.__setattr__(self, "short", f"{self.family} {initials}".strip())

    def as_csl(self) -> dict[str, str]:
        csl = {"family": self.family}
        if self.given:
            csl["given"] = self.given
        if self.suffix:
            csl["suffix"] = self.suffix
        return csl


@lru_cache(maxsize=1 << 16)
def split_names(raw: str) -> tuple[Name, ...]:
    """Split a BibTeX name list (``Wang, D. Y. and M{\\"u}ller, Hans``) into names.

    Accents written without braces (``Mu\\~noz``) are decoded first: the name
    parser would take the ``~`` for a tie and split the name there.  A
    dangling ``and`` at either end is a typo, not a person.
    """
    if "\\" in raw:
        raw = decode_unbraced_accents(raw)
    if raw[:4].lower() == "and " or raw[-4:].lower() == " and" or raw.lower().startswith("and\n"):
        raw = _DANGLING_AND.sub("", raw)
    names = []
    for person in split_persons(raw):
        person = person.strip()
        if person and person.lower() != "and":
            name = _person(person)
            if name.family or name.given:  # "{}" or "{\\relax}" is no one
                names.append(name)
    return tuple(names)


_DANGLING_AND = re.compile(r"^\s*and\s+|\s+and\s*$", re.IGNORECASE)
#: ``\\~n``, ``\\'{e}``, ``\\v c``, ``\\ss{}``: accents and special letters outside a brace group of their own.
_UNBRACED_ACCENT = re.compile(
    r"""(?<!\{)\\(?:([`'^"~=.])\s*(\{[A-Za-z]\}|\\[ij](?![A-Za-z])|[A-Za-z])"""
    r"""|([uvHckbdr])(?:\s*(\{[A-Za-z]\})|\s+([A-Za-z]))"""
    r"""|(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?:\{\}|(?![A-Za-z])\s?))"""
)


def decode_unbraced_accents(raw: str) -> str:
    """Replace accent commands that stand outside braces with their Unicode letters."""
    return _UNBRACED_ACCENT.sub(lambda m: _decode_accent(m.group()), raw)


@lru_cache(maxsize=4096)
def _decode_accent(accent: str) -> str:
    """One accent command (``\\~n``) as its letter; left as written when pylatexenc makes nothing of it."""
    try:
        return _latex_to_text("{" + accent + "}").strip() or accent
    except Exception:  # as _undecoded: shown as written
        return accent


_AND = re.compile(r"[ \r\n\t]+[aA][nN][dD][ \r\n\t]+(?=[^ \r\n\t])")
#: Braces and escapes that cannot hide or fake an ``and``: groups up to two deep with no white space in them
#: (``M{\\"u}ller``, ``\\mbox{\\c{c}}``), backslashes before anything but white space, a brace or a backslash.
#: Large collaborations write hundreds of accented names so; bibtexparser would walk them a character at a time.
_FLAT_GROUPS = re.compile(r"(?:[^{}\\]|\\[^\s{}\\]|\{(?:[^{}\s\\]|\\[^\s{}\\]|\{(?:[^{}\s\\]|\\[^\s{}\\])*\})*\})*")


def split_persons(raw: str) -> list[str]:
    """bibtexparser's ``split_multiple_persons_names``, with a fast path for most lists.

    That function walks the value one character at a time to track braces
    and escapes.  A list with none (``Wang, D. Y. and Yang, Y. D.``, as
    database exports write them), or with only braces and escapes that
    cannot hide an ``and`` (``M{\\"u}ller``, :data:`_FLAT_GROUPS`), has its
    separators exactly where a regular expression finds them, three times
    faster; anything else goes to bibtexparser.  One quirk of bibtexparser's
    is kept: a name that starts with an escape after ``and`` loses it
    (``and \\v{S}afr\\'anek`` gives ``{S}afr\\'anek``).  A property test
    holds the two to the same result.
    """
    if ("{" in raw or "}" in raw or "\\" in raw) and not _FLAT_GROUPS.fullmatch(raw):
        from bibtexparser.middlewares.names import split_multiple_persons_names  # not needed for a cached table

        return split_multiple_persons_names(raw)
    names = raw.strip(" \r\n\t")
    if "\\" not in names:
        return _AND.split(names) if names else []
    return _split_around_escapes(names)


def _split_around_escapes(names: str) -> list[str]:
    """bibtexparser's split of a list whose escapes (``\\'``, ``\\"``, ``\\v``) stand outside any ``and``.

    bibtexparser skips an escape and the character after it without changing
    what it is looking for, so escapes are invisible to its search for
    `` and ``: the separators are where the regular expression finds them in
    the list with its escapes taken out.  A name then starts at the first
    character after the separator that is not part of an escape, which is
    why ``and \\v{S}afr\\'anek`` gives ``{S}afr\\'anek``.
    """
    persons, start = [], 0
    for separator in _AND_AROUND_ESCAPES.finditer(names):
        persons.append(names[start : separator.start()])
        start = separator.end()
    persons.append(names[start:])
    return persons


#: :data:`_AND` with escapes allowed anywhere in it (invisible, as to bibtexparser), and the escapes that
#: follow it taken too: the next name starts at the first character that is not part of one.
_AND_AROUND_ESCAPES = re.compile(
    r"[ \r\n\t](?:[ \r\n\t]|\\[^\s{}\\])*[aA](?:\\[^\s{}\\])*[nN](?:\\[^\s{}\\])*[dD](?:\\[^\s{}\\])*"
    r"[ \r\n\t](?:[ \r\n\t]|\\[^\s{}\\])*(?=[^ \r\n\t\\])"
)


@lru_cache(maxsize=1 << 16)
def _person(person: str) -> Name:
    """One name, parsed once however many entries it appears in (authors recur across a library)."""
    from bibtexparser.middlewares.names import parse_single_name_into_parts

    if person.lower() == "others":
        return Name(family=ETAL)
    if "=" in person and _NAME_PART.search(person):
        return _extended_name(person)
    simple = _simple_name(person)
    if simple is not None:
        return simple
    parts = parse_single_name_into_parts(person, strict=False)
    return Name(
        family=decode_latex(" ".join(parts.von + parts.last)),
        given=decode_latex(" ".join(parts.first)),
        suffix=decode_latex(" ".join(parts.jr)),
    )


#: White space between the words of a name, for bibtexparser's name parser (a tie is white space there).
_NAME_SPACE = re.compile(r"[ ~\r\n\t]+")
_NAME_SPACE_CHARS = " ~\r\n\t"


def _simple_name(person: str) -> Name | None:
    """The two commonest shapes, ``Family, Given Names`` and ``Given Family``, without bibtexparser's parser.

    Only for a one-word family name and nothing braced or escaped, where
    bibtexparser's parser (which walks the name a character at a time to
    find words, their case, a "von" part and a "Jr" part) can only give
    this answer; ``None`` for anything else.  A property test holds the
    two to the same parts.
    """
    if "{" in person or "}" in person or "\\" in person:
        return None
    family, comma, given = person.partition(",")
    if comma:
        family = family.strip(_NAME_SPACE_CHARS)
        if not family or "," in given or _NAME_SPACE.search(family):
            return None
        given = given.strip(_NAME_SPACE_CHARS)
        if "~" in given or "\n" in given or "\t" in given or "\r" in given or "  " in given:
            given = _NAME_SPACE.sub(" ", given)
        return Name(family=decode_latex(family), given=decode_latex(given))
    words = _NAME_SPACE.split(person.strip(_NAME_SPACE_CHARS))
    if len(words) == 2:
        return Name(family=decode_latex(words[1]), given=decode_latex(words[0]))
    return None


#: biblatex's extended name format names its parts (``given=Alfred, family=Adler``);
#: other keys such as ``id=`` may come first.
_NAME_PART = re.compile(r"(?:^|,)\s*(?:family|given)\s*=", re.I)


def _extended_name(person: str) -> Name:
    """biblatex's extended name format: ``family=Gogh, given=Vincent, prefix=van, useprefix=true``."""
    parts: dict[str, str] = {}
    for item in _split_top_level(person, ","):
        name, sep, value = item.partition("=")
        if sep:
            value = value.strip()
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = value[1:-1]
            parts[name.strip().lower()] = decode_latex(value)
    family = " ".join(p for p in (parts.get("prefix", ""), parts.get("family", "")) if p)
    return Name(family=family, given=parts.get("given", ""), suffix=parts.get("suffix", ""))


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside braces."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items


#: biblatex (EDTF) dates: ``2006``, ``2006-02``, ``2006-02-13``, ``1998/1999``, ``../1999``, ``2004?``,
#: ``2004-04-05T14:34``.
_DATE = re.compile(r"[~?%]*(-?\d{4})(?:-(\d{2}))?")


_DAY_FIRST_DATE = re.compile(r"\s*(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\s*$")


def parse_date(raw: str) -> tuple[int | None, int | None]:
    """The year and month a biblatex ``date`` starts with; the end of a range when its start is open.

    ``01.08.1993`` (day first, as written in German and other libraries) is read too.
    """
    day_first = _DAY_FIRST_DATE.match(raw)
    if day_first:
        day_month = int(day_first.group(2))
        return int(day_first.group(3)), day_month if 1 <= day_month <= 12 else None
    for side in raw.strip().split("/"):
        match = _DATE.match(side.strip())
        if match:
            year, month = int(match.group(1)), match.group(2)
            if not 0 <= year <= 9999:
                return None, None
            number = int(month) if month else None
            return year, number if number and 1 <= number <= 12 else None
        if side.strip() not in ("", ".."):
            return None, None
    return None, None


def parse_month(raw: str) -> int | None:
    """``mar``, ``March``, ``3`` and ``03`` all give 3; anything else ``None``.

    A range written with BibTeX's concatenation (``jun # "--" # jul``) gives its first month.
    """
    value = raw.split("#", 1)[0] if "#" in raw else raw
    value = value.strip().strip(".").lower()
    if value.isdecimal() and len(value) <= 2:
        number = int(value)
        return number if 1 <= number <= 12 else None
    return MONTHS.get(value)


def parse_year(raw: str) -> int | None:
    """The year as an integer; ``None`` when no year can be read.

    Besides a plain 1-4 digit number, the forms real libraries use for one
    year: a range (``1991--1992``, ``1987--date``: its first year), a note
    after it (``1994 (to appear)``, ``1989 [1987]``), a month before it
    (``June 1980``), the ``{\\noopsort{1973b}}1973`` sorting trick, and a
    concatenation (``"1989" # "\\unskip--"``).  ``1994a`` and ``19xx`` are
    not years.
    """
    value = raw.strip()
    if value.isdecimal():
        return int(value) if len(value) <= 4 else None
    if "#" in value:
        value = value.split("#", 1)[0].strip().strip('"')
    if "noopsort" in value:
        value = _NOOPSORT.sub("", value)
    value = value.strip().strip("{}").strip()
    match = _YEAR_FIRST.match(value) or _MONTH_YEAR.match(value)
    return int(match.group(1)) if match else None


_NOOPSORT = re.compile(r"\\noopsort\s*\{[^{}]*\}")
_YEAR_FIRST = re.compile(r"(\d{4})(?:\s*(?:-+|\u2013|\u2014|/|,)|\s*[(\[]|\s*$|\s+(?=[A-Za-z]))")
_MONTH_YEAR = re.compile(r"[A-Za-z]{3,9}\.?\s+(\d{4})$")


def normalise_pages(raw: str) -> str:
    """``13--14``, ``13 – 14`` and ``13 - 14`` become ``13-14``."""
    if "\\" in raw or "{" in raw or "$" in raw or "~" in raw or "\n" in raw or "  " in raw:
        raw = decode_latex(raw)
    return _DASHES.sub("-", raw.strip())


def split_list(raw: str, separator: str = ";") -> list[str]:
    """Split a multi-valued field; empty items are dropped, white space folded."""
    return [item for item in (decode_latex(part) for part in raw.split(separator)) if item]


def split_keywords(raw: str) -> list[str]:
    """Keywords are separated by ``;`` when any is present, else by ``,``."""
    return split_list(raw, ";" if ";" in raw else ",")
