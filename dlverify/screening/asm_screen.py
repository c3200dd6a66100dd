"""The rule for inline assembly in a candidate's CUDA source: plain PTX instructions only.

An `asm("...")` template goes to an assembler verbatim: in device code to
ptxas, in host code (or at file scope) to GNU as, whose directives read host
files (`.incbin "/etc/shadow"`, `.include`) and print or repeat without bound
(`.rept 100000000`, `.print`, `.macro`, `.irp`). So before nvcc runs, every
`asm` must have a literal template made of PTX statements:

- the keyword (`asm`, `__asm`, `__asm__`, with `volatile` / `goto` / `inline`)
  followed by `(` and string literals, then `:` or `)`: nothing computed, no
  macro in the template, no `asm` hidden in a macro that takes it as an argument;
- each statement (split at `;` and line ends, after C escapes are decoded) is
  empty, a brace, a `.reg` declaration, or `[label:] [@guard] opcode operands`,
  where the opcode is lower-case letters and dotted modifiers (`mma.sync.aligned
  .m16n8k8.row.col.f32.tf32.tf32.f32`, `cp.async.cg.shared.global`) and the
  operands are registers, immediates, `[addresses]` and `{vectors}`: no other
  directive, no quotes, no `#`, no backslashes;
- no token pasting (`##`) and no universal character names outside strings,
  which could spell `asm` where this scan does not see it, and none of the
  attributes that write a string into the assembler's input (`section`,
  `alias`, `weakref`, `symver`, `ifunc`).

This is a screen, not the fence: the compile runs in the sandbox whatever it lets by.
"""

from __future__ import annotations

import re

_ASM = frozenset({"asm", "__asm", "__asm__"})
_QUALIFIERS = frozenset({"volatile", "__volatile", "__volatile__", "goto", "inline", "__inline", "__inline__"})
_EMITTING = frozenset({"section", "alias", "weakref", "symver", "ifunc"})
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
  | (?P<char>(?:u8|[uUL])?'(?:[^'\\\n]|\\.)*')
  | (?P<number>\.?[0-9](?:[eEpP][+-]|'[0-9A-Za-z_]|[0-9A-Za-z_.])*)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<paste>\#\#|%:%:)
  | (?P<other>.)
""", re.X | re.S)
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]+)|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "?": "?",
                   "a": "\a", "b": "\b", "f": "\f", "r": "\r", "v": "\v"}
_LABEL = r"[A-Za-z_$%][\w$%]*\s*:(?!:)\s*"
_GUARD = r"@!?[\w$%]+\s+"
_OPCODE = r"[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+(?:::[A-Za-z0-9_]+)*)*"
_OPERANDS = r"[\w%$.,\[\]{}()+\-*|&^!<>:~ \t]*"
_INSTRUCTION = re.compile(rf"(?:{_LABEL})*(?:(?:{_GUARD})?{_OPCODE}(?:\s+{_OPERANDS})?)?")
_REGISTERS = re.compile(r"\.reg(?:\s+\.[a-z0-9]+)+\s+[\w%$<>\[\], \t]+")


def _tokens(code: str):
    """(kind, text, offset) of the code's tokens, spaces left out; comments are already gone."""
    for match in _TOKEN.finditer(code):
        if match.lastgroup != "space":
            yield match.lastgroup, match.group(), match.start()


def _decoded(literal: str) -> str | None:
    """A plain "..." literal's characters, C escapes decoded; None for a prefixed (u8, L) literal."""
    if not literal.startswith('"'):
        return None

    def one(match: re.Match) -> str:
        octal, hexa, u4, u8, other = match.groups()
        if other is not None:
            return _SIMPLE_ESCAPES.get(other, "\0")  # an unknown escape: refused below as a NUL
        return chr(min(int(octal or hexa or u4 or u8, 8 if octal else 16), 0x10FFFF))
    return _ESCAPE.sub(one, literal[1:-1])


def template_refusal(template: str) -> str | None:
    """Why an asm template is not plain PTX, or None."""
    for number, statement in enumerate(re.split(r"[;\n]", template), 1):
        statement = statement.strip(" \t")
        while statement.startswith("{"):
            statement = statement[1:].lstrip(" \t")     # a scope opens
        if not statement.strip("{} \t"):
            continue                                    # nothing, or scopes closing
        directive = re.match(r"(?:" + _LABEL + r")*(\.[A-Za-z_][\w$]*)", statement)
        if directive and not _REGISTERS.fullmatch(statement):
            return f"the assembler directive {directive.group(1)[:20]} is not accepted"
        if not (_REGISTERS.fullmatch(statement) or _INSTRUCTION.fullmatch(statement)):
            return (f"statement {number} is not a plain PTX instruction (an opcode, then registers, "
                    "immediates, [addresses] and {vectors}; no quotes, # or backslashes)")
    return None


def _line(code: str, offset: int) -> int:
    return code.count("\n", 0, offset) + 1


def asm_refusal(code: str) -> str | None:
    """Why the source's inline assembly is refused, or None (`code`: spliced, comments removed)."""
    tokens = list(_tokens(code))
    for i, (kind, text, offset) in enumerate(tokens):
        where = f"line {_line(code, offset)}"
        if kind == "paste":
            return f"{where}: token pasting (##) is not accepted"
        if kind == "other" and text == "\\":
            return f"{where}: a backslash outside a string (a universal character name) is not accepted"
        if kind == "name" and text.strip("_") in _EMITTING:
            return f"{where}: `{text}` is not accepted (the attribute writes into the assembler's input)"
        if kind != "name" or text not in _ASM:
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][1] in _QUALIFIERS:
            j += 1
        literals = []
        if j < len(tokens) and tokens[j][1] == "(":
            j += 1
            while j < len(tokens) and tokens[j][0] == "string":
                literals.append(tokens[j][1])
                j += 1
        if not literals or j >= len(tokens) or tokens[j][1] not in (":", ")"):
            return (f"{where}: `{text}` must be followed by a template of string literals, "
                    f'{text}("..." : outputs : inputs), nothing computed')
        parts = [_decoded(literal) for literal in literals]
        if any(p is None for p in parts):
            return f"{where}: an asm template is a plain \"...\" literal (no u8, u, U or L prefix)"
        template = "".join(parts)
        if any(c not in "\n\t" and not " " <= c <= "~" for c in template):
            return f"{where}: an asm template holds printable ASCII, tabs and line ends only"
        why = template_refusal(template)
        if why:
            return f"{where}: asm: {why} (asm may hold plain PTX instructions only)"
    return None
