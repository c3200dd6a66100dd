"""The inline-assembly rule of the CUDA source screen (dlverify/screening/asm_screen.py): plain PTX passes,
anything that could reach an assembler directive, by any spelling, is refused."""

from __future__ import annotations

import pytest

from dlverify.launch import nvcc

PTX = [
    'asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, '
    '{%8,%9}, {%10,%11,%12,%13};\\n" : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3) : "r"(a0));',
    'asm("ld.global.nc.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(x), "=f"(y), "=f"(z), "=f"(w) : "l"(p));',
    'asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\\n" :: "r"(s), "l"(g));',
    'asm volatile("cp.async.commit_group;\\n" ::);',
    'asm volatile("{\\n\\t.reg .pred p;\\n\\tsetp.ne.b32 p, %1, 0;\\n\\tselp.u32 %0, 1, 0, p;\\n}" '
    ': "=r"(r) : "r"(v));',
    'asm("mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;" :: "r"(a), "r"(b));',
    'asm volatile("@!%%p1 bra.uni DONE;\\nDONE:\\n" ::);',
    'asm __volatile__("prefetch.global.L2 [%0];" :: "l"(p));',
    '#define MOV(d, s) asm("mov.u32 %0, %1;" : "=r"(d) : "r"(s))',
    'asm("st.global.v2.f32 [%0], {%1, %2};" :: "l"(p), "f"(a), "f"(b));',
]


@pytest.mark.parametrize("line", PTX)
def test_plain_ptx_is_accepted(line):
    assert nvcc.screen_source(line + "\n").refusal is None


@pytest.mark.parametrize("name, source", [
    ("incbin", 'asm(".incbin \\"/etc/shadow\\"");'),
    ("include", 'asm(".include \\"/etc/passwd\\"");'),
    ("rept", 'asm(".rept 100000000\\n.byte 0\\n.endr");'),
    ("macro", 'asm(".macro m\\n.endm");'),
    ("irp", 'asm(".irp x,1,2\\n.endr");'),
    ("print", 'asm(".print \\"x\\"");'),
    ("file", 'asm(".file \\"/etc/shadow\\"");'),
    ("after_a_label", 'asm("l: .incbin \\"/etc/shadow\\"");'),
    ("after_a_statement", 'asm("nop; .incbin \\"/etc/shadow\\"");'),
    ("octal_dot", 'asm("\\056incbin \\"/etc/shadow\\"");'),
    ("hex_newline", 'asm("nop\\x0a.incbin \\"/etc/shadow\\"");'),
    ("quotes", 'asm("nop \\"/etc/shadow\\"");'),
    ("hash_comment", 'asm("nop # x");'),
    ("macro_template", '#define T ".incbin \\"/etc/shadow\\""\nvoid f() { asm(T); }'),
    ("macro_after_literal", '#define T "\\n.incbin \\"/etc/shadow\\""\nvoid f() { asm("nop" T); }'),
    ("stringified", '#define S(x) #x\nvoid f() { asm(S(.incbin "/etc/shadow")); }'),
    ("asm_in_a_macro", '#define A asm\nvoid f() { A(".incbin \\"/etc/shadow\\""); }'),
    ("pasted_keyword", '#define C(a, b) a##b\nvoid f() { C(as, m)(".incbin \\"/etc/shadow\\""); }'),
    ("digraph_paste", '#define C(a, b) a%:%:b\n'),
    ("ucn_keyword", 'void f() { \\u0061sm(".incbin \\"/etc/shadow\\""); }'),
    ("prefixed_literal", 'asm(u8"nop");'),
    ("asm_label", 'extern int x asm("x\\n.incbin \\"/etc/shadow\\"");'),
    ("section", 'int x __attribute__((section(".text\\n.incbin \\"/etc/shadow\\"\\n#")));'),
    ("section_underscored", 'int x __attribute__((__section__(".data")));'),
    ("alias", 'void g() __attribute__((alias("f")));'),
    ("file_scope", '__asm__(".incbin \\"/etc/shadow\\"");'),
    ("asm_goto", 'asm goto(".incbin \\"/etc/shadow\\"" :::: l);'),
])
def test_assembler_directives_are_refused(name, source):
    refusal = nvcc.screen_source(source + "\n").refusal
    assert refusal and refusal.startswith("line ")
    assert "shadow" not in refusal  # the refusal names the rule, not the operand


def test_the_refusal_names_the_directive_and_its_line():
    refusal = nvcc.screen_source('int a;\n\nvoid f() { asm volatile(".incbin \\"/x\\""); }\n').refusal
    assert refusal.startswith("line 3:") and ".incbin" in refusal and "PTX" in refusal


def test_asm_in_comments_and_strings_is_not_code():
    source = ('// asm(".incbin \\"/etc/shadow\\"")\n/* __asm__(".rept 9") */\n'
              'const char* s = "asm(\\".incbin\\") section alias ##";\nint n = 1\'000;\n')
    assert nvcc.screen_source(source).refusal is None
