"""Which installed Python packages an exercise's sandbox may see, from the package metadata.

A numpy-only exercise must not be able to import torch by any route (a
sys.path trick, importlib, a path to the file): the surest way is that torch
is not there. The host mounts an empty folder over every site-packages folder
and binds back only the distributions the exercise's framework needs (and what
they require, transitively); the worker process's Landlock allow-list does the
same where bubblewrap is missing. Loaded by path on the host, imported in the child.
"""

from __future__ import annotations

import glob
import importlib.metadata as metadata
import os
import re
import site
import sys
import sysconfig

# What each framework's sandbox needs besides the standard library. numpy is
# always there: the child's own codec and drivers use it.
FRAMEWORK_DISTRIBUTIONS = {
    "numpy": ("numpy",),
    "torch": ("numpy", "torch"),
    "triton": ("numpy", "torch", "triton"),
    # exporting to ONNX and running the file: the exporter (onnxscript builds the graph) and onnxruntime
    "onnx": ("numpy", "torch", "onnx", "onnxscript", "onnxruntime"),
    "jax": ("numpy", "jax", "jaxlib"),
    # the candidate chooses how to compile and launch: torch's cpp_extension (which runs ninja) or
    # NVRTC through CuPy; whichever of these is installed is kept
    "cuda": ("numpy", "torch", "ninja", "cupy", "cupy-cuda12x", "cupy-cuda11x"),
}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(framework: str) -> list[metadata.Distribution]:
    """The framework's distributions and everything they require (extras left out)."""
    wanted = list(FRAMEWORK_DISTRIBUTIONS.get(framework, FRAMEWORK_DISTRIBUTIONS["torch"]))
    seen: dict[str, metadata.Distribution] = {}
    while wanted:
        name = _normal(wanted.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for requirement in dist.requires or ():
            if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
                continue  # only wanted with an extra
            match = _NAME.match(requirement)
            if match:
                wanted.append(match.group(1))
    return list(seen.values())


def site_dirs() -> list[str]:
    """Every folder an interpreter on this machine could import third-party packages from."""
    found = set()
    candidates = list(sys.path) + list(site.getsitepackages())
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        for key in ("purelib", "platlib"):
            candidates.append(sysconfig.get_path(key, vars={"base": prefix, "platbase": prefix}))
        candidates += glob.glob(os.path.join(prefix, "lib*", "python3*", "*-packages"))
    candidates += glob.glob("/usr/lib/python3*/*-packages") + glob.glob("/usr/local/lib/python3*/*-packages")
    for path in candidates:
        if path and os.path.basename(path) in ("site-packages", "dist-packages") and os.path.isdir(path):
            found.add(os.path.realpath(path))
    return sorted(found)


def _top_level(dist: metadata.Distribution) -> set[str]:
    """First path components of the files a distribution installed (RECORD read as plain text: fast)."""
    names = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        path = line.rsplit(",", 2)[0].strip('"')
        top = path.split("/", 1)[0]
        if top and top != ".." and not path.endswith(".pth"):
            names.add(top)
    return names


def site_entries(framework: str) -> dict[str, list[str]]:
    """{site folder: [top-level names in it to keep]}, for every site folder (most keep nothing)."""
    keep: dict[str, set[str]] = {d: set() for d in site_dirs()}
    for dist in distributions(framework):
        base = os.path.realpath(str(dist.locate_file("")))
        if base not in keep:
            continue
        names = keep[base]
        info = getattr(dist, "_path", None)
        if info is not None:
            names.add(os.path.basename(str(info)))  # the .dist-info folder: metadata for importlib
        names |= _top_level(dist)
    return {d: sorted(n for n in names if os.path.lexists(os.path.join(d, n))) for d, names in keep.items()}


def readable_python(framework: str) -> list[str]:
    """The paths a worker may read to run Python: the standard library and the kept distributions,
    with every site folder left out (a Landlock allow-list cannot subtract a sub-folder, so a root
    that holds a site folder is opened up one level at a time around it)."""
    sites = site_entries(framework)
    # The standard library, and the C headers: torch.compile and Triton build small C extensions.
    roots = {os.path.realpath(p) for p in (sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "include",
                                                                            "platinclude"))
             if p and os.path.isdir(p)}
    roots |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p) and not p.endswith(".zip")}
    roots -= set(sites)
    paths = expand_around(sorted(roots), list(sites))
    for folder, names in sites.items():
        paths += [os.path.join(folder, n) for n in names]
    return paths


def expand_around(roots: list[str], holes: list[str]) -> list[str]:
    """The roots, with each root that contains a hole replaced by its children (minus the hole)."""
    out: list[str] = []
    for root in roots:
        inside = [h for h in holes if h.startswith(root.rstrip("/") + "/")]
        if not inside:
            out.append(root)
            continue
        try:
            children = sorted(os.listdir(root))
        except OSError:
            continue
        for child in children:
            path = os.path.join(root, child)
            if path in inside:
                continue
            out += expand_around([path], inside) if os.path.isdir(path) else [path]
    return out
