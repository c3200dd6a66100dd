"""Turning inputs and outputs into bytes and back, without pickle of objects, and strictly.

io = "numpy": .npz written by np.savez, read back by hand (flat dict of arrays).
io = "torch": written by torch.save, read back by a restricted unpickler of
ours (below): a flat dict of plain tensors and plain numbers.

The host loads what the child sent with `loads`, so everything here treats the
bytes as hostile: a zip member that is compressed (a decompression bomb), an
array header that claims more elements than its bytes hold, a tensor view
whose shape spans far more elements than its storage (a zero-stride view of
one number shaped like a terabyte), a tensor subclass, a meta or quantized
tensor, nested containers: each is refused with a one-line reason before any
comparison touches it. Each accepted tensor is copied into fresh memory.

Everything is bounded *while* it is decoded, never checked after: a candidate's
`torch.save` of a 250-million-element list must not cost minutes and gigabytes
before it is refused. The torch pickle is read only after its opcodes have been
scanned (at most MAX_PICKLE_BYTES, only the opcodes and globals that torch.save
writes for a flat dict of tensors and numbers: no list, set, bytes, object or
integer beyond 64 bits), and then by a restricted unpickler of our own whose
globals are a rebuild of a dense tensor and nothing else, reading its storages
from the archive Python parsed (never torch.load, whose zip reader and
unpickler are not ours to bound). numpy's side is parsed by hand (never
np.load, so never allow_pickle): at most MAX_OUTPUTS arrays of at most
MAX_NDIM dimensions, each exactly as many bytes as its header says, all of
them within the bytes sent, which the host's channel reader caps at the
exercise's output limit.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections import OrderedDict
from typing import Any

NUMERIC_KINDS = "biufc"          # bool, int, uint, float, complex: nothing with objects or fields
MAX_SCALAR_STR = 1000
MAX_OUTPUTS = 256                # arrays / storages in one archive: the packs send a dozen at most
MAX_MEMBERS = MAX_OUTPUTS + 16   # torch adds a few of its own (version, byteorder...)
MAX_NDIM = 32
MAX_PICKLE_BYTES = 256 << 10     # about 150 bytes of pickle per tensor: the data lives in members
MAX_PICKLE_OPS = 50_000          # about 35 opcodes per tensor
MAX_INT_BITS = 64                # a plain number fits an int64 (or a uint64)
MAX_MARK_DEPTH = 4               # dict items > rebuild arguments > storage key: 3 deep


class UnsafeData(ValueError):
    """The bytes are not the plain data the contract allows."""


# The writers as they were when this module was imported: in the worker, before any candidate
# code ran (a red team replaced torch.save to compute its answer after the graded call).
try:
    import numpy as _np
    _SAVEZ = _np.savez
except ImportError:  # pragma: no cover - numpy is in every sandbox
    _SAVEZ = None
try:
    import torch as _torch
    _TORCH_SAVE = _torch.save
except Exception:  # noqa: BLE001 - a numpy-only sandbox has no torch: hidden (ImportError) or refused (OSError)
    _TORCH_SAVE = None


def dumps(obj: dict[str, Any], kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "numpy":
        import numpy as np

        (_SAVEZ or np.savez)(buf, **{k: np.asarray(v) for k, v in obj.items()})
    else:
        import torch

        (_TORCH_SAVE or torch.save)(obj, buf)
    return buf.getvalue()


def loads(data: bytes, kind: str) -> dict[str, Any]:
    _check_zip(data)
    try:
        return _load_numpy(data) if kind == "numpy" else _load_torch(data)
    except UnsafeData:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever else the bytes did: one line, the sender's problem
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UnsafeData(f"not plain data ({type(exc).__name__}: {first})") from None


def _check_zip(data: bytes) -> None:
    """Both formats are zip files: every member stored as is, and no more bytes than were sent."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise UnsafeData(f"not a valid archive ({exc})") from None
    if len(members) > MAX_MEMBERS:
        raise UnsafeData(f"{len(members)} archive members, at most {MAX_MEMBERS} accepted")
    total = 0
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED:
            raise UnsafeData(f"archive member {member.filename[:80]!r} is compressed")
        total += member.file_size
    if total > len(data):
        raise UnsafeData("archive members claim more bytes than the archive holds")


def _load_numpy(data: bytes) -> dict[str, Any]:
    import numpy as np
    from numpy.lib import format as npformat

    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            name = member.filename
            if not name.endswith(".npy"):
                raise UnsafeData(f"unexpected archive member {name[:80]!r}")
            with archive.open(member) as f:
                version = npformat.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = npformat.read_array_header_1_0(f, max_header_size=10_000)
                elif version == (2, 0):
                    shape, fortran, dtype = npformat.read_array_header_2_0(f, max_header_size=10_000)
                else:
                    raise UnsafeData(f"{name[:-4]!r}: .npy format version {version} is not accepted")
                if len(shape) > MAX_NDIM or len(name) > 200:
                    raise UnsafeData(f"{name[:80]!r}: {len(shape)} dimensions, at most {MAX_NDIM} accepted")
                if dtype.hasobject or dtype.fields is not None or dtype.kind not in NUMERIC_KINDS:
                    raise UnsafeData(f"{name[:-4]!r}: dtype {dtype} is not a plain number type")
                count = 1
                for n in shape:
                    count *= int(n)
                body = f.read()
                if count * dtype.itemsize != len(body):
                    raise UnsafeData(f"{name[:-4]!r}: header says {count} elements, the data holds "
                                     f"{len(body)} bytes")
                array = np.frombuffer(body, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
                out[name[:-4]] = np.array(array, copy=True)  # own, writable memory
    return out


def _load_torch(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pickles = [m for m in archive.infolist() if m.filename.rsplit("/", 1)[-1] == "data.pkl"]
        if len(pickles) != 1:
            raise UnsafeData("expected one data.pkl in the archive")
        prefix = pickles[0].filename[:-len("data.pkl")]
        if pickles[0].file_size > MAX_PICKLE_BYTES:
            raise UnsafeData(f"a pickle of {pickles[0].file_size} bytes: a dict of outputs needs at most "
                             f"{MAX_PICKLE_BYTES}")
        byteorder = f"{prefix}byteorder"
        if byteorder in archive.namelist() and archive.read(byteorder) != b"little":
            raise UnsafeData("only little-endian archives are accepted")
        pkl = archive.read(pickles[0])
        _scan_pickle(pkl)
        obj = _Unpickler(io.BytesIO(pkl), archive, prefix).load()
    if type(obj) not in (dict, OrderedDict):
        raise UnsafeData(f"expected a dict of outputs, got {type(obj).__name__}")
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str) or len(key) > 200:
            raise UnsafeData("output names must be short strings")
        out[key] = _plain_value(key, value)
    return out


# The opcodes torch.save (protocol 2) writes for a flat dict of tensors and plain numbers.
_OPCODES = frozenset({
    "PROTO", "STOP", "MARK", "EMPTY_DICT", "SETITEM", "SETITEMS", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2",
    "TUPLE3", "BINPUT", "LONG_BINPUT", "MEMOIZE", "BINGET", "LONG_BINGET", "GLOBAL", "BINPERSID", "REDUCE",
    "NEWFALSE", "NEWTRUE", "NONE", "BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT", "BINUNICODE",
    "SHORT_BINUNICODE",
})
_REFUSED_AS = {"EMPTY_LIST": "a list", "LIST": "a list", "APPEND": "a list", "APPENDS": "a list",
               "EMPTY_SET": "a set", "ADDITEMS": "a set", "FROZENSET": "a set", "BINBYTES": "bytes",
               "SHORT_BINBYTES": "bytes", "BINBYTES8": "bytes", "BYTEARRAY8": "bytes", "LONG4": "an integer",
               "BUILD": "an object", "NEWOBJ": "an object", "NEWOBJ_EX": "an object", "OBJ": "an object",
               "INST": "an object", "STACK_GLOBAL": "an object"}

# torch.<Name>Storage in a storage's persistent id -> the torch dtype's name. Quantized ones are not here.
_STORAGE_DTYPES = {"DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
                   "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
                   "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128"}
_REBUILD = ("torch._utils", "_rebuild_tensor_v2")
_HOOKS = ("collections", "OrderedDict")   # a tensor's (empty) backward hooks


def _refused_global(module: str, name: str) -> str:
    if (module, name) == ("torch._utils", "_rebuild_parameter"):
        return "a torch.nn.Parameter is not plain data"
    if module == "torch._tensor" and name.startswith("_rebuild_from_type"):
        return "a tensor subclass is not plain data"
    if module == "torch._utils" and name.startswith("_rebuild"):
        return "only dense CPU tensors are accepted"
    module = "builtins" if module == "__builtin__" else module
    return f"{module[:60]}.{name[:60]} is not plain data"


def _scan_pickle(pkl: bytes) -> None:
    """Refuse, from its opcodes alone and before anything is built, a pickle that is not a flat
    dict of tensors and plain numbers; its size bounds the time and memory this takes."""
    dicts = depth = 0
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(pkl)):
            name = op.name
            if count >= MAX_PICKLE_OPS:
                raise UnsafeData(f"more than {MAX_PICKLE_OPS} pickle opcodes")
            if name not in _OPCODES:
                raise UnsafeData(f"{_REFUSED_AS.get(name, 'pickle opcode ' + name)} is not plain data")
            if name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                if (module, attr) not in (_REBUILD, _HOOKS) and not (module == "torch" and attr in _STORAGE_DTYPES):
                    raise UnsafeData(_refused_global(module, attr))
            elif name == "EMPTY_DICT":
                dicts += 1
                if dicts > 1:
                    raise UnsafeData("a nested dict is not plain data")
            elif name == "LONG1" and arg.bit_length() > MAX_INT_BITS:
                raise UnsafeData(f"an integer of {arg.bit_length()} bits is out of range (at most {MAX_INT_BITS})")
            elif name in ("BINUNICODE", "SHORT_BINUNICODE") and len(arg) > MAX_SCALAR_STR:
                raise UnsafeData(f"a string of {len(arg)} characters is not plain data")
            elif name == "LONG_BINPUT" and arg > MAX_PICKLE_OPS:
                raise UnsafeData("a pickle memo index out of range")   # the unpickler would size its memo to it
            elif name == "MARK":
                depth += 1
                if depth > MAX_MARK_DEPTH:
                    raise UnsafeData("nested containers are not plain data")
            elif name in ("TUPLE", "SETITEMS"):
                depth -= 1
    except UnsafeData:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or malformed pickle
        raise UnsafeData(f"not a valid pickle ({type(exc).__name__})") from None


class _Storage:
    """One storage member of the archive, read by Python's zipfile: its dtype and bytes."""

    def __init__(self, dtype, data: bytes):
        import torch

        self.dtype = dtype
        self.numel = len(data) // dtype.itemsize
        self.untyped = torch.UntypedStorage.from_buffer(data, dtype=torch.uint8) if data else torch.UntypedStorage(0)


class _StorageType:
    def __init__(self, name: str):
        import torch

        self.dtype = getattr(torch, _STORAGE_DTYPES[name])


def _no_hooks(*args) -> OrderedDict:
    if args:
        raise UnsafeData("a tensor with backward hooks is not plain data")
    return OrderedDict()


def _int(value, what: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 62:
        raise UnsafeData(f"a tensor's {what} is not a non-negative integer")
    return value


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    """torch._utils._rebuild_tensor_v2 for a dense CPU tensor, every argument checked first."""
    import torch

    if type(storage) is not _Storage or type(size) is not tuple or type(stride) is not tuple:
        raise UnsafeData("a tensor's storage, size or stride is not what torch.save writes")
    if len(size) != len(stride) or len(size) > MAX_NDIM or type(requires_grad) is not bool:
        raise UnsafeData(f"a tensor of {len(size)} dimensions with {len(stride)} strides")
    if hooks != OrderedDict() or metadata is not None:
        raise UnsafeData("a tensor with hooks or metadata is not plain data")
    offset = _int(offset, "offset")
    size = tuple(_int(n, "size") for n in size)
    stride = tuple(_int(n, "stride") for n in stride)
    numel = 1
    for n in size:
        numel *= n
    if numel and offset + sum((n - 1) * st for n, st in zip(size, stride)) >= storage.numel:
        raise UnsafeData(f"a view of {numel} elements reaches past its storage of {storage.numel}")
    if numel > storage.numel:
        raise UnsafeData(f"a view of {numel} elements over a storage of {storage.numel} elements")
    return torch.empty(0, dtype=storage.dtype).set_(storage.untyped, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    """Unpickles what _scan_pickle let through: three kinds of globals, storages read from the archive."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix, self.storages = archive, prefix, {}

    def find_class(self, module: str, name: str):
        if (module, name) == _REBUILD:
            return _rebuild_tensor
        if (module, name) == _HOOKS:
            return _no_hooks
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeData(_refused_global(module, name))

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage" or type(pid[1]) is not _StorageType:
            raise UnsafeData("a storage reference is not what torch.save writes")
        _, kind, key, location, numel = pid
        if type(key) is not str or not key.isalnum() or type(location) is not str:
            raise UnsafeData("a storage key is not what torch.save writes")
        if key not in self.storages:
            if len(self.storages) >= MAX_OUTPUTS:
                raise UnsafeData(f"more than {MAX_OUTPUTS} storages")
            try:
                data = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise UnsafeData(f"storage {key[:20]!r} is missing from the archive") from None
            if type(numel) is not int or numel * kind.dtype.itemsize != len(data):
                raise UnsafeData(f"storage {key[:20]!r} claims {numel} elements, its member holds {len(data)} bytes")
            self.storages[key] = _Storage(kind.dtype, data)
        storage = self.storages[key]
        if storage.dtype != kind.dtype:
            raise UnsafeData(f"storage {key[:20]!r} read as two dtypes")
        return storage


def _plain_value(key: str, value: Any) -> Any:
    import torch

    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        if len(value) > MAX_SCALAR_STR:
            raise UnsafeData(f"{key!r}: string of {len(value)} characters")
        return value
    if type(value) is not torch.Tensor:
        raise UnsafeData(f"{key!r}: a {type(value).__module__}.{type(value).__name__} is not plain data")
    try:
        if (value.layout != torch.strided or value.device.type != "cpu" or value.is_quantized or value.is_meta
                or value.is_nested or value.is_sparse):
            raise UnsafeData(f"{key!r}: only dense CPU tensors are accepted")
        storage_bytes = value.untyped_storage().nbytes()
        if value.numel() * value.element_size() > storage_bytes:
            raise UnsafeData(f"{key!r}: a view of {value.numel()} elements over a storage of {storage_bytes} bytes")
        plain = value.detach().resolve_conj().resolve_neg().clone(memory_format=torch.contiguous_format)
        plain.shape, plain.dtype  # noqa: B018 - an exotic tensor fails here, not in a pack's check()
    except UnsafeData:
        raise
    except Exception as exc:  # noqa: BLE001 - any tensor we cannot read as plain data is the sender's problem
        raise UnsafeData(f"{key!r}: not a plain tensor ({type(exc).__name__})") from None
    return plain
