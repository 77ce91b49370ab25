#!/usr/bin/env python3
"""Converts Resemblyzer 0.1.4's speaker encoder (GE2E, Apache-2.0) to safetensors,
with the Python standard library only (no torch, no numpy).

Resemblyzer ships its weights as `resemblyzer/pretrained.pt`, written by torch's
legacy (non-zip) `torch.save` (torch < 1.6, "_legacy_save"): a file of five
pickles followed by raw storage data:
    pickle #1: magic number (119547037146038801333356)
    pickle #2: protocol version (1001)
    pickle #3: sys info dict (little_endian, type sizes)
    pickle #4: the object itself (here {"step", "model_state": OrderedDict,
               "optimizer_state"}); tensors are reduced to
               torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
               and storages are persistent ids
               ("storage", storage_type, key, location, numel[, view_metadata])
    pickle #5: list of storage keys, in the order their data follows
    then per key: u64 LE element count, then count * element size raw LE bytes.

Only the model's own tensors are kept, under their state-dict names: lstm.*
(3 layers: weight_ih_l{0,1,2} [1024,40|256], weight_hh_l* [1024,256],
bias_ih_l* / bias_hh_l* [1024]) and linear.* (weight [256,256], bias [256]);
similarity_* (training-only loss parameters) and the optimizer state are dropped.
The data bytes are copied unchanged (little-endian float32, row-major).

The unpickler only resolves the few globals such a file needs
(collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage), so
loading runs no code from the file.

Usage: convert-speaker-encoder.py INPUT OUTPUT.safetensors
  INPUT: the Resemblyzer-0.1.4 wheel (pretrained.pt is read from the zip) or a
  pretrained.pt file. OUTPUT is written only once everything has been checked.
Exit status 1, with a message naming the file, on any error.
"""
import collections
import io
import json
import pickle
import struct
import sys
import zipfile

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
WHEEL_MEMBER = "resemblyzer/pretrained.pt"
KEEP_PREFIXES = ("lstm.", "linear.")
METADATA = {"source": "Resemblyzer 0.1.4 pretrained.pt (GE2E, Apache-2.0)"}
# torch storage class -> (element size in bytes, safetensors dtype)
STORAGE_TYPES = {
    "FloatStorage": (4, "F32"),
    "DoubleStorage": (8, "F64"),
    "HalfStorage": (2, "F16"),
    "LongStorage": (8, "I64"),
    "IntStorage": (4, "I32"),
    "ShortStorage": (2, "I16"),
    "CharStorage": (1, "I8"),
    "ByteStorage": (1, "U8"),
    "BoolStorage": (1, "BOOL"),
}


class ConvertError(Exception):
    pass


class StorageType:
    def __init__(self, name):
        self.name = name


class Storage:
    """A storage named by the pickle; its bytes are filled in afterwards."""

    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel
        self.data = None


class LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_ignored):
    return LazyTensor(storage, storage_offset, size, stride)


class TorchUnpickler(pickle.Unpickler):
    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_TYPES:
            return StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise ConvertError(f"unsupported pickled global {module}.{name}")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise ConvertError(f"unexpected persistent id {pid!r}")
        _tag, stype, key, _location, numel = pid[:5]
        if len(pid) > 5 and pid[5] is not None:
            raise ConvertError(f"storage {key}: storage views are not supported")
        if not isinstance(stype, StorageType):
            raise ConvertError(f"storage {key}: unexpected storage type {stype!r}")
        if key not in self.storages:
            self.storages[key] = Storage(stype.name, key, numel)
        return self.storages[key]


class PlainUnpickler(pickle.Unpickler):
    """For the header pickles and the key list: plain data, no globals at all."""

    def find_class(self, module, name):
        raise ConvertError(f"unexpected pickled global {module}.{name}")


def load_legacy(f):
    """Reads a legacy torch file from the binary stream f; returns the object."""
    try:
        magic = PlainUnpickler(f).load()
    except Exception as e:
        raise ConvertError(f"not a legacy torch file (first pickle unreadable: {e})")
    if magic != MAGIC:
        raise ConvertError("not a legacy torch file (wrong magic number)")
    version = PlainUnpickler(f).load()
    if version != PROTOCOL_VERSION:
        raise ConvertError(f"unexpected torch protocol version {version!r}")
    sys_info = PlainUnpickler(f).load()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian"):
        raise ConvertError(f"only little-endian files are supported (sys info {sys_info!r})")
    unpickler = TorchUnpickler(f)
    obj = unpickler.load()
    keys = PlainUnpickler(f).load()
    for key in keys:
        storage = unpickler.storages.get(key)
        if storage is None:
            raise ConvertError(f"data for storage {key}, which no tensor uses")
        head = f.read(8)
        if len(head) != 8:
            raise ConvertError(f"truncated before the data of storage {key}")
        (count,) = struct.unpack("<Q", head)
        if count != storage.numel:
            raise ConvertError(f"storage {key}: {count} elements in the data, {storage.numel} in the pickle")
        nbytes = count * STORAGE_TYPES[storage.kind][0]
        storage.data = f.read(nbytes)
        if len(storage.data) != nbytes:
            raise ConvertError(f"storage {key}: truncated ({len(storage.data)} of {nbytes} bytes)")
    rest = f.read()
    if rest:
        raise ConvertError(f"{len(rest)} unexpected trailing bytes")
    return obj


def tensor_bytes(name, t):
    """The raw row-major bytes of tensor t, checked against its storage."""
    if not isinstance(t, LazyTensor):
        raise ConvertError(f"{name}: not a tensor ({type(t).__name__})")
    storage = t.storage
    if storage.data is None:
        raise ConvertError(f"{name}: its storage {storage.key} has no data in the file")
    item, dtype = STORAGE_TYPES[storage.kind]
    expected, acc = [], 1
    for dim in reversed(t.size):
        expected.insert(0, acc)
        acc *= dim
    numel = acc
    # Strides of dimensions of size 1 do not matter for the layout.
    if len(t.stride) != len(t.size) or any(s != e for s, e, d in zip(t.stride, expected, t.size) if d != 1):
        raise ConvertError(f"{name}: not contiguous (size {list(t.size)}, stride {list(t.stride)}, "
                           f"row-major would be {expected})")
    if t.offset < 0 or t.offset + numel > storage.numel:
        raise ConvertError(f"{name}: elements {t.offset}..{t.offset + numel} lie outside its "
                           f"storage of {storage.numel}")
    return dtype, storage.data[t.offset * item:(t.offset + numel) * item]


def safetensors_bytes(tensors):
    """tensors: ordered name -> (dtype, shape, raw bytes)."""
    header, offset = {"__metadata__": METADATA}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    return b"".join([struct.pack("<Q", len(text)), text] + [d for _, _, d in tensors.values()])


def read_input(path):
    """The bytes of pretrained.pt: from the wheel when path is a zip, else the file itself."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if WHEEL_MEMBER not in names:
                hint = " (a zip-format torch checkpoint? only the legacy format is read)" \
                    if any(n.endswith("/data.pkl") for n in names) else ""
                raise ConvertError(f"no {WHEEL_MEMBER} in this zip{hint}")
            return z.read(WHEEL_MEMBER)
    with open(path, "rb") as f:
        return f.read()


def convert(src):
    obj = load_legacy(io.BytesIO(read_input(src)))
    if not isinstance(obj, dict) or "model_state" not in obj:
        raise ConvertError("no model_state in the checkpoint")
    tensors = collections.OrderedDict()
    for name, t in obj["model_state"].items():
        if not name.startswith(KEEP_PREFIXES):
            continue
        dtype, data = tensor_bytes(name, t)
        if dtype != "F32":
            raise ConvertError(f"{name}: expected float32, found {dtype}")
        tensors[name] = (dtype, t.size, data)
    if not any(n.startswith("lstm.") for n in tensors) or "linear.weight" not in tensors:
        raise ConvertError(f"model_state lacks the lstm.* / linear.* tensors (has {list(obj['model_state'])})")
    return tensors, safetensors_bytes(tensors)


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} RESEMBLYZER_WHEEL_OR_PRETRAINED_PT OUTPUT.safetensors", file=sys.stderr)
        return 1
    src, dst = argv[1], argv[2]
    try:
        tensors, out = convert(src)
    except ConvertError as e:
        print(f"convert-speaker-encoder: {src}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"convert-speaker-encoder: {src}: cannot read: {e.strerror or e}", file=sys.stderr)
        return 1
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError,
            struct.error, ValueError, TypeError, AttributeError, KeyError) as e:
        print(f"convert-speaker-encoder: {src}: cannot read as a legacy torch file: "
              f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    try:
        with open(dst, "wb") as f:
            f.write(out)
    except OSError as e:
        print(f"convert-speaker-encoder: {dst}: cannot write: {e}", file=sys.stderr)
        return 1
    print(f"convert-speaker-encoder: wrote {dst} ({len(tensors)} tensors, {len(out)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
