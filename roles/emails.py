"""E-mail addresses as account keys: one normal form, so two addresses that look the same
are one account.

``normalise`` is what every lookup uses (login, throttle, register's uniqueness):
NFKC (full-width letters and ligatures become plain ones), invisible and format
characters removed (zero-width spaces and joiners, soft hyphens, bidi controls, variation
selectors), lower-cased, ideographic full stops read as dots, punycode labels decoded, and
the domain's trailing dot dropped. ``canonical`` is what registration stores: the normal
form, refused (AmbiguousEmail) when it still mixes scripts inside one part, such as a
Cyrillic 'а' among Latin letters, which no normalisation can map back safely.

The mixed-script test is confusable_homoglyphs' (the Unicode Consortium's script and
confusables tables, as django-registration uses them): a hand-made table of look-alikes
would always be missing some.
"""

from __future__ import annotations

import unicodedata

import idna
from confusable_homoglyphs import confusables

# Default-ignorable characters that are not in category Cf (those are all dropped).
IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
# Full stops IDNA reads as dots; NFKC already maps the full-width one (U+FF0E).
DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})


class AmbiguousEmail(ValueError):
    """The address could be read as another one: refused at registration."""


def _visible(value: str) -> str:
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cf" and ch not in IGNORABLE)


def _domain(domain: str) -> str:
    domain = domain.translate(DOTS).rstrip(".")
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.decode(label)
            except idna.IDNAError as exc:
                raise AmbiguousEmail("the domain has an invalid punycode label") from exc
        labels.append(label)
    return ".".join(labels)


def normalise(email: str) -> str:
    """The one form an address is stored, looked up and throttled by."""
    value = unicodedata.normalize("NFKC", _visible(email.strip()))
    value = unicodedata.normalize("NFKC", value.lower())
    local, at, domain = value.rpartition("@")
    if not at:
        return value.rstrip(".")
    try:
        return f"{local}@{_domain(domain)}"
    except AmbiguousEmail:
        return f"{local}@{domain.translate(DOTS).rstrip('.')}"


def canonical(email: str) -> str:
    """The normal form, or AmbiguousEmail when it still mixes scripts within its local
    part or within one domain label (each may be in its own script: ivan@почта.рф is
    fine, pаypal@example.com is not), or holds control characters."""
    value = normalise(email)
    local, _, domain = value.rpartition("@")
    _domain(domain)  # an invalid punycode label is refused, not guessed
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise AmbiguousEmail("must not contain control characters")
    for part in (local, *domain.split(".")):
        if confusables.is_mixed_script(part):
            raise AmbiguousEmail("mixes scripts (look-alike letters); use one alphabet per part")
    return value
