"""Small torch.save files for tests/unit/test_torch_pickle.cpp (run with scripts/python-env):

  state.zip.pt     torch.save zip: float32/float16/bfloat16/int64/bool tensors, a view with an
                   offset and a non-contiguous stride sharing its storage, an OrderedDict with
                   _metadata (as model.state_dict() has)
  state.legacy.pt  the same in the legacy format (_use_new_zipfile_serialization=False)
  wrapped.pt       {"epoch": 3, "state_dict": ...}: a training checkpoint
  expected.safetensors  every tensor, contiguous, to compare with
  evil.pt          a legacy-format file whose pickle calls os.system: must be refused
"""
import collections
import io
import os
import pickle
import sys

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
state._metadata = collections.OrderedDict({"": {"version": 1}})

torch.save(state, os.path.join(out, "state.zip.pt"))
torch.save(state, os.path.join(out, "state.legacy.pt"), _use_new_zipfile_serialization=False)
torch.save({"epoch": 3, "state_dict": state}, os.path.join(out, "wrapped.pt"))
save_file({k: v.contiguous().clone() for k, v in state.items()}, os.path.join(out, "expected.safetensors"))

# A legacy header followed by a pickle that would run a shell command in Python.
evil = io.BytesIO()
for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
    pickle.dump(header, evil, protocol=2)
evil.write(b"\x80\x02cposix\nsystem\nX\x0e\x00\x00\x00echo pwned >&2\x85R.")
open(os.path.join(out, "evil.pt"), "wb").write(evil.getvalue())
print("wrote", sorted(os.listdir(out)))
