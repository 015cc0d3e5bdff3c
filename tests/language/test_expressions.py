"""The simple-expression reader vouches only for what Jinja accepts, with the same env reads."""

from __future__ import annotations

import random

import pytest

from flexor_iac.language.expressions import simple_env_reads
from flexor_iac.language.templates import TemplateError, env_reads, parse, to_jinja_expression

# Pieces from which expressions are generated: valid ones, and ones meant to break them.
PIECES = ["a", "env", ".", "X", "b", "now", "(", ")", "not", "and", "or", "!", "&&", "||",
          "==", "!=", "<=", ">", "+", "-", "*", "/", "1", "2.5", "'s'", '"t"', "true", "None",
          "in", "is", "if", "|", "[", "]", ",", "~", "%", "1.", "._", "x_1", "  "]


def _jinja_facts(code: str) -> set[str] | None:
    """What Jinja says: the env reads of `{{ code }}`, or None when it does not parse."""
    try:
        return env_reads(parse("{{ " + code + " }}"))
    except TemplateError:
        return None


@pytest.mark.parametrize(("code", "reads"), [
    ("!result.is_fresh", set()),
    ("now()", set()),
    ("age <= inputs.max_age_minutes", set()),
    ("env.REGION == 'us' && !(a.b > 2.5)", {"REGION"}),
    ("-n + 1 * (m - 2) / 3", set()),
    ("env.A.b() || env.B", {"A", "B"}),
])
def test_common_expressions_are_simple(code: str, reads: set[str]) -> None:
    assert simple_env_reads(to_jinja_expression(code)) == reads == _jinja_facts(code)


@pytest.mark.parametrize("code", ["", "a |", "a | upper", "env['X']", "a[0]", "x if y else z",
                                  "a in b", "(a).b", "f(x)", "1.5.2", "if", "a.true", "'it\\'s'"])
def test_anything_else_is_left_to_jinja(code: str) -> None:
    assert simple_env_reads(to_jinja_expression(code)) is None


OPERANDS = ["a", "a.b", "env.X", "env.Y.z", "now()", "a.b()", "1", "2.5", "'s'", "true", "None",
            "-a", "!a", "not a"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "&&", "||", "and", "or"]


def _grammatical(generator: random.Random, depth: int = 0) -> str:
    """A random expression of the simple grammar, sometimes in parentheses."""
    parts = [generator.choice(OPERANDS) if depth > 1 or generator.random() < 0.7
             else f"({_grammatical(generator, depth + 1)})"]
    for _ in range(generator.randint(0, 3)):
        parts += [generator.choice(OPERATORS), generator.choice(OPERANDS)]
    return " ".join(parts)


def _generated(generator: random.Random) -> str:
    if generator.random() < 0.5:  # random pieces: mostly invalid
        code = " ".join(generator.choice(PIECES) for _ in range(generator.randint(1, 8)))
        return code.replace(" . ", ".") if generator.random() < 0.5 else code
    pieces = _grammatical(generator).split(" ")
    if generator.random() < 0.4:  # a mutation: one piece dropped or one stray piece added
        index = generator.randrange(len(pieces))
        if generator.random() < 0.5:
            del pieces[index]
        else:
            pieces.insert(index, generator.choice(PIECES))
    return " ".join(pieces)


def test_every_generated_expression_it_vouches_for_jinja_accepts_alike() -> None:
    generator = random.Random(20261126)
    vouched = left = 0
    for _ in range(5000):
        code = _generated(generator)
        if (reads := simple_env_reads(to_jinja_expression(code))) is not None:
            vouched += 1
            assert _jinja_facts(code) == reads, code
        else:
            left += 1
    assert vouched > 1000 and left > 1000  # both kinds are well exercised
