"""Small checkpoint files for tests/unit/test_checkpoint.cpp and test_torch_pickle.cpp
(run with the reference environment: .venv/bin/python scripts/make-checkpoint-fixtures.py [OUT]):

  state.zip.pt          torch.save zip: a tensor of every dtype LibTorch reads (float64/32/16,
                        bfloat16, int64/32/16/8, uint8, bool), a 0-d and an empty tensor, a view
                        with an offset and a non-contiguous stride sharing its base's storage, an
                        nn.Parameter, and an OrderedDict with _metadata (as model.state_dict() has)
  state.legacy.pt       the same in the legacy format (_use_new_zipfile_serialization=False)
  wrapped.pt            {"epoch": 3, "state_dict": ..., "lr", "name", "note": bytes}: a training checkpoint
  two_state_dicts.pt    {"student": ..., "teacher": ...}: ambiguous, must be refused
  expected.safetensors  every tensor of state.*.pt, contiguous, to compare with exactly
  evil.pt               a legacy-format file whose pickle calls posix.system: must be refused
  evil_zip.pt           a torch.save-shaped zip whose pickle calls os.system: must be refused
  torchscript.pt        a TorchScript archive (torch.jit.save): must be refused with a hint
  sharded/              config.json, model.safetensors.index.json and its two shards
  sharded.sha256        SHA-256 of the two shards' bytes (what load_checkpoint's digest must be)
  efficientnet-lite0.fnv.json  FNV-1a 64 of every tensor of the real EfficientNet-Lite0 file
                        (models/efficientnet-lite0, not committed) as torch.load reads it

The evil pickles are written by hand and are harmless even if obeyed (`echo` to stderr, the
shell's no-op `:`); nothing here unpickles them.
"""
import collections
import hashlib
import io
import json
import os
import pickle
import sys
import zipfile

import torch
from safetensors.torch import save_file

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                                             "checkpoints")
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
base = torch.randn(6, 5)
state = collections.OrderedDict()
state["layer.weight"] = base
state["layer.view"] = base[1:, ::2]            # offset 5, strides (5, 2), shares base's storage
state["layer.half"] = torch.randn(3, 4).half()
state["layer.bf16"] = torch.randn(2, 3).bfloat16()
state["layer.count"] = torch.tensor([1, -2, 3_000_000_000], dtype=torch.int64)
state["layer.flag"] = torch.tensor([True, False])
state["scalar"] = torch.tensor(2.5)
state["types.f64"] = torch.randn(3, dtype=torch.float64)
state["types.i32"] = torch.tensor([-(2**31), 5], dtype=torch.int32)
state["types.i16"] = torch.tensor([-300, 300], dtype=torch.int16)
state["types.i8"] = torch.tensor([-128, 127], dtype=torch.int8)
state["types.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
state["types.empty"] = torch.zeros(0, 3)
state["types.param"] = torch.nn.Parameter(torch.randn(2, 2))
state._metadata = collections.OrderedDict({"": {"version": 1}, "layer": {"version": 2}})

path = lambda name: os.path.join(out, name)
torch.save(state, path("state.zip.pt"))
torch.save(state, path("state.legacy.pt"), _use_new_zipfile_serialization=False)
torch.save({"epoch": 3, "state_dict": state, "lr": 0.01, "name": "run-7", "note": b"\x00\xff"}, path("wrapped.pt"))
torch.save({"student": state, "teacher": state}, path("two_state_dicts.pt"))
save_file({k: v.detach().contiguous().clone() for k, v in state.items()}, path("expected.safetensors"))

# A legacy header followed by a pickle that would run a shell command in Python.
evil = io.BytesIO()
for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
    pickle.dump(header, evil, protocol=2)
evil.write(b"\x80\x02cposix\nsystem\nX\x0e\x00\x00\x00echo pwned >&2\x85R.")
open(path("evil.pt"), "wb").write(evil.getvalue())

# The same in a zip laid out as torch.save lays it out.
with zipfile.ZipFile(path("evil_zip.pt"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("evil_zip/data.pkl", b"\x80\x02cos\nsystem\nX\x01\x00\x00\x00:\x85R.")
    z.writestr("evil_zip/version", "3\n")

torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path("torchscript.pt"))

shards = path("sharded")
os.makedirs(shards, exist_ok=True)
first = {"a.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.tensor([1.0, 2.0])}
second = {"b.weight": torch.full((3,), 4.0, dtype=torch.float16)}
save_file(first, os.path.join(shards, "model-00001-of-00002.safetensors"))
save_file(second, os.path.join(shards, "model-00002-of-00002.safetensors"))
weight_map = {name: "model-00001-of-00002.safetensors" for name in first}
weight_map.update({name: "model-00002-of-00002.safetensors" for name in second})
with open(os.path.join(shards, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 38}, "weight_map": weight_map}, f, indent=2)
with open(os.path.join(shards, "config.json"), "w") as f:
    json.dump({"model_type": "toy", "hidden_size": 3}, f)
# What load_checkpoint's digest must be: SHA-256 of the shards' bytes in weight-file order.
digest = hashlib.sha256()
for shard in sorted(set(weight_map.values())):
    with open(os.path.join(shards, shard), "rb") as f:
        digest.update(f.read())
with open(path("sharded.sha256"), "w") as f:
    f.write(digest.hexdigest() + "\n")

for root, _, files in sorted(os.walk(out)):
    for name in sorted(files):
        file = os.path.join(root, name)
        print(f"{os.path.relpath(file, out)}: {os.path.getsize(file)} bytes")

# The real EfficientNet-Lite0 weights (legacy torch.save, 18 MB; scripts/fetch-models) are
# not committed: a FNV-1a 64 of each tensor's bytes as torch.load gives them is.
real = os.path.join(os.path.dirname(__file__), "..", "models", "efficientnet-lite0", "efficientnet-lite0-57934424.pth")
if os.path.exists(real):
    def fnv1a64(data):
        h = 0xCBF29CE484222325
        for b in data:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return f"{h:016x}"

    sums = {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                   "fnv1a64": fnv1a64(t.contiguous().numpy().tobytes())}
            for name, t in torch.load(real, map_location="cpu", weights_only=True).items()}
    with open(path("efficientnet-lite0.fnv.json"), "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(sums.items())) + "\n}\n")
    print(f"efficientnet-lite0.fnv.json: {len(sums)} tensors")
else:
    print(f"{real} is absent (scripts/fetch-models): efficientnet-lite0.fnv.json not rewritten")
