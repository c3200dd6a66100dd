"""What each Triton reference kernel compiles to for an H100/H200 (sm_90), measured without a GPU.

    python benchmarks/kernel_resources.py [--kernels triton_softmax,...] [--json PATH]

Triton compiles for a named target with the ptxas it ships, no driver needed, and
cuobjdump (shipped beside it) reads the cubin's resource usage. So a CPU machine can
say, for every launch a reference makes at its bench shapes: registers a thread,
bytes spilled to local memory, shared memory, and how many programs an SM can hold
at once (the occupancy those three allow). Registers and occupancy explain speed
(a row of softmax that takes the whole register file leaves the SM one program,
loading or reducing, never both); shared memory over the SM's limit is a launch
that fails on the GPU, caught here first.

The launches are captured, not rewritten: each kernel module's launcher is called
on meta tensors (shapes and dtypes, no data) with its @triton.jit kernels swapped
for recorders, so what is compiled is exactly what the launcher would launch
(grid, constexprs, num_warps, num_stages). Integer and pointer arguments are
specialised as Triton's JIT does on a GPU (1 becomes a constant; multiples of 16,
and 16-byte-aligned pointers, carry divisibility 16), or the loads would not
vectorise as they do there.

Not measured here: time. These are the compiler's figures for triton's own version
on this machine (the GPU runners carry an older triton, whose figures may differ).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

if __name__ == "__main__":
    # Compile, never interpret: triton reads this as it is imported (its own library
    # functions become interpreted ones otherwise, and compiling them fails).
    os.environ["TRITON_INTERPRET"] = "0"

import torch  # noqa: E402
import triton  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# sm_90 (H100, H200): per SM. From the CUDA occupancy tables for compute capability 9.0.
CAPABILITY = 90
REGISTERS = 65536
SUB_PARTITIONS = 4        # the register file is split among them; a warp's registers come from one
REG_UNIT = 256            # registers are given to a warp in units of 256
MAX_THREADS = 2048
MAX_PROGRAMS = 32
SHARED_PER_SM = 233472    # 228 KiB
SHARED_PER_BLOCK = 232448  # 227 KiB, the most one program may opt in to
SHARED_RESERVED = 1024    # per program, kept by the system
SHARED_UNIT = 128         # shared memory is given to a program in units of 128 bytes

DTYPES = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32", torch.float64: "fp64",
          torch.int32: "i32", torch.int64: "i64", torch.int8: "i8", torch.uint8: "u8", torch.bool: "i1"}


@dataclass
class Usage:
    kernel: str
    shape: str                 # the call that launched it, e.g. "fp16 4096x32768"
    config: str                # its constexprs, num_warps, num_stages
    warps: int
    registers: int             # a thread
    spilled: int               # bytes of local memory a thread (stack and spill stores)
    shared: int                # bytes a program, static and dynamic
    programs_per_sm: int       # the occupancy these allow
    limit: str                 # what sets programs_per_sm: registers, threads, shared or programs
    fits: bool                 # shared memory within what one program may have


def programs_per_sm(warps: int, registers: int, shared: int) -> tuple[int, str]:
    """How many programs of this kernel an sm_90 SM holds at once, and which resource says so,
    counted as cuda_occupancy.h counts (cudaOccMaxBlocksPerSMRegsLimit and ...SmemLimit)."""
    per_warp = math.ceil(registers * 32 / REG_UNIT) * REG_UNIT
    # Warps per sub-partition, times 4: not REGISTERS // per_warp, which would count the
    # leftovers of four sub-partitions as room for more warps (it differs at 1 or 2 warps).
    resident_warps = (REGISTERS // SUB_PARTITIONS // per_warp) * SUB_PARTITIONS if registers else 0
    by = {
        "registers": resident_warps // warps if registers else MAX_PROGRAMS,
        "threads": MAX_THREADS // (32 * warps),
        "shared": SHARED_PER_SM // (math.ceil((shared + SHARED_RESERVED) / SHARED_UNIT) * SHARED_UNIT),
        "programs": MAX_PROGRAMS,
    }
    limit = min(by, key=by.get)
    return by[limit], limit


class Recorder:
    """Stands in for a @triton.jit kernel: `kernel[grid](*args, **kwargs)` records the call."""

    def __init__(self, fn, calls: list):
        self.fn, self.calls = fn, calls

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.calls.append((self.fn, args, kwargs))


def _specialise(fn, args: tuple, kwargs: dict) -> tuple[dict, dict, dict, dict]:
    """(signature, constexprs, attrs, options) for triton.compile, as the JIT would make them."""
    # What is not a parameter is a launch option (num_warps, num_stages, ...), as in the JIT.
    names = [p.name for p in fn.params]
    options = {k: kwargs.pop(k) for k in list(kwargs) if k not in names}
    values = dict(zip(names, args))
    values.update(kwargs)
    signature, constexprs, attrs = {}, {}, {}
    for i, p in enumerate(fn.params):
        v = values.get(p.name, p.default if p.has_default else None)
        if p.is_constexpr or v is None or (isinstance(v, int) and not isinstance(v, bool) and v == 1):
            signature[p.name] = "constexpr"
            constexprs[(i,)] = v
        elif isinstance(v, bool):  # a runtime flag unless declared constexpr (True == 1 is no constant)
            signature[p.name] = "u1"
        elif isinstance(v, torch.Tensor):
            signature[p.name] = "*" + DTYPES[v.dtype]
            attrs[(i,)] = [["tt.divisibility", 16]]  # torch's allocations are 256-byte aligned
        elif isinstance(v, int):
            signature[p.name] = "i32" if -2**31 <= v < 2**31 else "i64"
            if v % 16 == 0:
                attrs[(i,)] = [["tt.divisibility", 16]]
        elif isinstance(v, float):
            signature[p.name] = "fp32"
        else:
            raise TypeError(f"{fn.__name__}: argument {p.name} = {v!r} is not a tensor, int, float or bool")
    return signature, constexprs, attrs, options


def _cuobjdump() -> str:
    return str(Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump")


def compile_usage(fn, args: tuple, kwargs: dict, shape: str) -> Usage:
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    signature, constexprs, attrs, options = _specialise(fn, args, dict(kwargs))
    compiled = triton.compile(ASTSource(fn, signature, constexprs, attrs),
                              target=GPUTarget("cuda", CAPABILITY, 32), options=options)
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(compiled.asm["cubin"])
        f.flush()
        dump = subprocess.run([_cuobjdump(), "--dump-resource-usage", f.name],
                              capture_output=True, text=True, check=True).stdout

    def field(name: str) -> int:
        m = re.search(rf"\b{name}:(\d+)", dump)
        return int(m.group(1)) if m else 0

    warps = compiled.metadata.num_warps
    shared = field("SHARED") + compiled.metadata.shared       # static + dynamic
    spilled = field("STACK") + field("LOCAL")
    programs, limit = programs_per_sm(warps, field("REG"), shared)
    names = {fn.params[path[0]].name: v for path, v in constexprs.items() if fn.params[path[0]].is_constexpr}
    config = " ".join(f"{k}={v}" for k, v in names.items()) + f" warps={warps} stages={compiled.metadata.num_stages}"
    return Usage(fn.__name__, shape, config, warps, field("REG"), spilled, shared, programs, limit,
                 shared <= SHARED_PER_BLOCK)


def load(name: str):
    """Import kernels/<name>.py as its own module (TRITON_INTERPRET is 0 by now: the kernel
    files only set it where it is unset, and @triton.jit reads it as it decorates)."""
    spec = importlib.util.spec_from_file_location(f"_resources_{name}", ROOT / "kernels" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def capture(module, call) -> list:
    """The launches `call(module)` makes, with every @triton.jit kernel of the module recorded."""
    calls: list = []
    kernels = {k: v for k, v in vars(module).items() if isinstance(v, triton.runtime.jit.JITFunction)}
    try:
        for k, v in kernels.items():
            setattr(module, k, Recorder(v, calls))
        call(module)
    finally:
        for k, v in kernels.items():
            setattr(module, k, v)
    return calls


def _meta(*shape, dtype=torch.float16):
    return torch.empty(*shape, dtype=dtype, device="meta")


def _softmax_calls():
    for dtype, m, n in [(torch.float16, 8192, 8192), (torch.bfloat16, 4096, 32768), (torch.float32, 1823, 781)] + \
            [(torch.float16, 4096, n) for n in (256, 1024, 4096, 16384, 65536)]:
        yield f"{DTYPES[dtype]} {m}x{n}", lambda mod, m=m, n=n, dtype=dtype: mod.softmax(_meta(m, n, dtype=dtype))
    # The launch measured on the H200 before (2026-12-04), and the steps its benchmark sweeps.
    for n in (32768, 65536):
        yield f"before: fp16 4096x{n}", lambda mod, n=n: mod._as_measured_on_the_h200(_meta(4096, n))
    for block in (4096, 16384):
        yield f"sweep: step {block}", lambda mod, block=block: mod._online(_meta(4096, 65536), block, 132)


def _matmul_calls():
    for dtype, (m, n, k), bias, act in [(torch.float16, (4096, 4096, 4096), False, None),
                                        (torch.bfloat16, (8192, 8192, 8192), True, "gelu"),
                                        (torch.float16, (16, 8192, 8192), False, None),
                                        (torch.float16, (2048, 2048, 2048), True, "relu")]:
        def call(mod, m=m, n=n, k=k, dtype=dtype, bias=bias, act=act):
            mod.matmul(_meta(m, k, dtype=dtype), _meta(k, n, dtype=dtype), _meta(n, dtype=dtype) if bias else None, act)
        yield f"{DTYPES[dtype]} {m}x{n}x{k}", call


def _attention_calls():
    for dtype, d in [(torch.bfloat16, 64), (torch.float16, 128)]:
        def call(mod, dtype=dtype, d=d):
            q = _meta(8, 16, 2048, d, dtype=dtype)
            o, lse = mod.attention_forward(q, q, q, True, d ** -0.5)
            mod.attention_backward(q, q, q, o, lse, q, True, d ** -0.5)
        yield f"{DTYPES[dtype]} (8, 16, 2048, {d}) causal", call


CALLS = {"triton_softmax": _softmax_calls, "triton_matmul": _matmul_calls, "flash_attention": _attention_calls}


def measure(names) -> list[Usage]:
    seen, out = set(), []
    for name in names:
        module = load(name)
        for shape, call in CALLS[name]():
            for fn, args, kwargs in capture(module, call):
                key = (fn.__name__, repr(_specialise(fn, args, dict(kwargs))))
                if key not in seen:  # the same compile as an earlier launch's
                    seen.add(key)
                    out.append(compile_usage(fn, args, kwargs, shape))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", default=",".join(CALLS), help=f"comma-separated, of {', '.join(CALLS)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    names = [n for n in args.kernels.split(",") if n]
    unknown = [n for n in names if n not in CALLS]
    if unknown:
        print(f"kernel_resources: unknown kernel {unknown[0]!r} (known: {', '.join(CALLS)})", file=sys.stderr)
        return 2
    if args.json and not args.json.parent.is_dir():
        print(f"kernel_resources: --json {args.json}: no folder {args.json.parent}", file=sys.stderr)
        return 2
    if not Path(_cuobjdump()).exists():
        print(f"kernel_resources: not measured: triton {triton.__version__} ships no cuobjdump here", file=sys.stderr)
        return 2
    usages = measure(names)
    print(f"sm_{CAPABILITY} (H100/H200), triton {triton.__version__}, torch {torch.__version__}; per thread: "
          "registers and spilled bytes; per program: shared memory")
    print(f"{'kernel':28} {'first launched by':26} {'regs':>5} {'spill':>6} {'shared':>8} {'progs/SM':>9}  config")
    for u in usages:
        flag = "" if u.fits else "  DOES NOT FIT: shared memory over 227 KiB"
        print(f"{u.kernel:28} {u.shape:26} {u.registers:>5} {u.spilled:>6} {u.shared:>8} "
              f"{u.programs_per_sm:>3} ({u.limit[:4]})  {u.config}{flag}")
    if args.json:
        record = {"target": f"sm_{CAPABILITY}", "triton": triton.__version__, "torch": torch.__version__,
                  "kernels": [asdict(u) for u in usages]}
        args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0 if all(u.fits for u in usages) else 1


if __name__ == "__main__":
    sys.exit(main())
