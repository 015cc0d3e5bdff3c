"""What template operations would build, estimated before they run (see runtime/sandbox.py).

Each check raises LimitExceeded when the result would be over MAX_TEXT of text or MAX_VALUE of
data: `'x' * 10**8`, `7 ** 9999999`, `'x'|center(10**8)`, `s.replace('', s)`, a `%` format
with a width of 10**8, `'%(a)s%(a)s…' % {'a': s}` and `'{0}{0}…'.format(s)` (each field counts
the argument it writes). Only the operations that can multiply a size need one; the rest are
checked after they run (sandbox.built). Going through a format's fields costs a step each.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from flexor_iac.language.limits import (
    MAX_INT_BITS,
    MAX_TEXT,
    MAX_VALUE,
    LimitExceeded,
    charge,
    measure,
    size_words,
)

# A `%` field: `%%` (a literal %), or an optional (key), flags, width and precision.
_PRINTF = re.compile(r"%(?P<literal>%)?(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?"
                     r"(?:\.(?P<precision>\*|\d+))?")
_FIELD_ROOT = re.compile(r"[.\[]")  # ends the argument a format field names: `a` of `a.b[0]`
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
# Filters that turn their input into text first: an input too big as text is refused.
STRINGIFYING = frozenset({"capitalize", "center", "e", "escape", "forceescape", "format",
                           "indent", "lower", "pprint", "replace", "safe", "string",
                           "striptags", "title", "tojson", "trim", "truncate", "upper",
                           "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"})


def text_size(value: Any) -> int:
    """About how many characters `value` makes as text (counting stops past MAX_TEXT)."""
    return len(value) if isinstance(value, str | bytes) else measure(value, MAX_TEXT)


def at_most(estimate: int, like: Any) -> None:
    """Refuse to build a value of about `estimate` (text if `like` is text, else data)."""
    text = isinstance(like, str | bytes)
    limit = MAX_TEXT if text else MAX_VALUE
    if estimate > limit:
        raise LimitExceeded(f"the result would be over {size_words(limit)} of "
                            f"{'text' if text else 'data'} (a template's limit)")


def bounded_list(items: Any) -> Any:
    """An iterable as a list, refused once its items would make more than MAX_TEXT of text."""
    if isinstance(items, list | tuple):
        return items
    kept, size = [], 0
    for item in items:
        size += text_size(item)
        at_most(size, "")
        kept.append(item)
    return kept


# --- what operators, methods and filters would build --------------------------------------------

def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _integer(value) else 0


def _largest(values: Any) -> int:
    """The size of the largest of `values` (what a field naming no argument given may take)."""
    return max((measure(value, MAX_TEXT) for value in values), default=0)


def _printf_size(text: str | bytes, right: Any) -> int:
    """About how long `text % right` would be: the text, its widths and precisions, and for
    each field the argument it writes (a key used n times counts n times)."""
    raw = isinstance(text, bytes)
    if isinstance(text, bytes):
        text = text.decode("latin-1")  # parsed as text; its keys looked up as bytes again
    widths = unkeyed = fields = 0
    keys: Counter[str] = Counter()
    for match in _PRINTF.finditer(text):
        fields += 1
        if match["literal"]:
            continue
        for number in (match["width"], match["precision"]):
            if number == "*":
                raise LimitExceeded("a `*` width in % formatting is not allowed in templates")
            widths += int(number or 0)
        if match["key"] is None:
            unkeyed += 1
        else:
            keys[match["key"]] += 1
    charge(fields)
    if not keys or not isinstance(right, Mapping):
        return len(text) + widths + measure(right, MAX_TEXT)  # a tuple's items are used once
    total = len(text) + widths + (measure(right, MAX_TEXT) if unkeyed else 0)
    largest: int | None = None  # for a key not found (or not parsed as Python would)
    for key, times in keys.items():
        found = key.encode("latin-1") if raw else key
        if found in right:
            size = measure(right[found], MAX_TEXT)
        else:
            size = largest = _largest(right.values()) if largest is None else largest
        total += size * times
        if total > MAX_TEXT:
            break
    return total


def _format_size(text: str, args: tuple[Any, ...], kwargs: Any) -> int:
    """About how long `text.format(*args, **kwargs)` would be: the text, the numbers in its
    format specs, and for each field the argument it writes (`{0}{0}` counts it twice)."""
    total = len(text)
    sizes: dict[int | str, int] = {}
    auto = fields = 0
    for _literal, name, spec, _conversion in string.Formatter().parse(text):
        if name is None:
            continue
        fields += 1
        if spec and "{" in spec:
            raise LimitExceeded("a nested {} in a format spec is not allowed in templates")
        total += sum(int(number) for number in re.findall(r"\d+", spec or ""))
        root = _FIELD_ROOT.split(name, maxsplit=1)[0]
        first: int | str = int(root) if root.isdecimal() else root
        if first == "":
            first, auto = auto, auto + 1
        if first not in sizes:
            sizes[first] = _argument_size(first, args, kwargs)
        total += sizes[first]
        if total > MAX_TEXT:
            break
    charge(fields)
    return total


def _argument_size(name: int | str, args: tuple[Any, ...], kwargs: Any) -> int:
    """The size of the argument a format field names (its root: `0` of `{0[1]}`)."""
    if not isinstance(kwargs, Mapping):  # format_map of something else: it may give anything
        return measure(kwargs, MAX_TEXT)
    if isinstance(name, int) and 0 <= name < len(args):
        return measure(args[name], MAX_TEXT)
    if isinstance(name, str) and name in kwargs:
        return measure(kwargs[name], MAX_TEXT)
    return max(_largest(args), _largest(kwargs.values()))


def _replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    try:
        found = len(text) + 1 if not old else text.count(old)
        if _integer(count) and count >= 0:
            found = min(found, count)
        return int(len(text) + found * max(len(new) - len(old), 0))
    except TypeError:  # the call itself will say what is wrong
        return len(text) if isinstance(text, str | bytes) else 0


def _joined_size(separator: Any, items: Any) -> int:
    return len(separator) * max(len(items) - 1, 0) + sum(text_size(i) for i in items)


def check_operation(operator: str, left: Any, right: Any) -> None:
    """Refuse `left <operator> right` (`+ * % **`) before it builds too much."""
    if operator == "**":
        if (_integer(left) and _integer(right) and right > 0 and abs(left) > 1
                and math.log2(abs(left)) * right > MAX_INT_BITS):
            raise LimitExceeded(f"the result would be an integer over {MAX_INT_BITS} bits "
                                "(a template's limit)")
    elif operator == "*":
        if _integer(left) and _integer(right):
            if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
                raise LimitExceeded(f"the result would be an integer over {MAX_INT_BITS} "
                                    "bits (a template's limit)")
            return
        sequence, times = (left, right) if _integer(right) else (right, left)
        if _integer(times) and isinstance(sequence, str | bytes | list | tuple):
            at_most(text_size(sequence) * times, sequence)
    elif operator == "+" and isinstance(left, str | bytes | list | tuple) \
            and isinstance(right, str | bytes | list | tuple):
        at_most(text_size(left) + text_size(right), left)
    elif operator == "%" and isinstance(left, str | bytes):
        at_most(_printf_size(left, right), left)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str,
         default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _method_size(text: str | bytes, name: str, args: tuple[Any, ...],
                 kwargs: Mapping[str, Any]) -> int:
    """About how long the result of a str (or bytes) method would be."""
    if name in _WIDTH_METHODS:
        return max(len(text), _int(_arg(args, kwargs, 0, "width", 0)))
    if name == "expandtabs":
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        return len(text) + tabs * max(_int(_arg(args, kwargs, 0, "tabsize", 8)), 0)
    if name == "replace" and len(args) >= 2:
        return _replaced_size(text, args[0], args[1], _arg(args, kwargs, 2, "count", -1))
    if name == "join" and args:
        return _joined_size(text, args[0])
    if name == "format" and isinstance(text, str):
        return _format_size(text, args, kwargs)
    if name == "format_map" and isinstance(text, str):
        return _format_size(text, (), args[0] if args else kwargs)
    if name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        return len(text) * max(longest, 1)
    return len(text)


def checked_call(function: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
                 ) -> tuple[Any, ...]:
    """Refuse a method call that would build too much; the arguments to call it with."""
    target = getattr(function, "__wrapped__", function)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if isinstance(owner, str | bytes):
        if name == "join" and args:
            args = (bounded_list(args[0]), *args[1:])
        at_most(_method_size(owner, name, args, kwargs), owner)
    elif _integer(owner) and name == "to_bytes":
        at_most(_int(_arg(args, kwargs, 0, "length", 1)), b"")
    return args


def _join_filter(a: dict[str, Any]) -> None:
    a["value"] = bounded_list(a["value"])
    at_most(_joined_size(a["d"], a["value"]), "")


def _indent_filter(a: dict[str, Any]) -> None:
    text, width = a["s"], a["width"]
    lines = text.count("\n") + 1 if isinstance(text, str) else 1
    pad = len(width) if isinstance(width, str) else _int(width)
    at_most(text_size(text) + lines * pad, "")


def _wordwrap_filter(a: dict[str, Any]) -> None:
    size, wrap = text_size(a["s"]), a["wrapstring"] or "\n"
    at_most(size + (size // max(_int(a["width"]), 1) + 1) * len(wrap), "")


def _format_filter(a: dict[str, Any]) -> None:
    """`value|format(…)` is `str(value) % (kwargs or args)` (value's size is checked first)."""
    value = a["value"]
    at_most(_printf_size(value if isinstance(value, str) else str(value),
                         a["kwargs"] or a["args"]), "")


def _fill_size(fill: Any) -> int:
    return 2 + (measure(fill, MAX_VALUE) if fill is not None else 0)


FILTER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": lambda a: at_most(max(text_size(a["value"]), _int(a["width"])), ""),
    "indent": _indent_filter,
    "format": _format_filter,
    "join": _join_filter,
    "replace": lambda a: at_most(_replaced_size(a["s"], a["old"], a["new"], a["count"]), ""),
    "wordwrap": _wordwrap_filter,
    "batch": lambda a: at_most(_int(a["linecount"]) * _fill_size(a["fill_with"]), []),
    "slice": lambda a: at_most(_int(a["slices"]) * (2 + _fill_size(a["fill_with"])), []),
}


