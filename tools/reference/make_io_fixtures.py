"""Small checkpoints written by torch.save itself, so SdSharp's readers are checked against real files rather
than only against our own understanding of the format:

  zip_state_dict.ckpt  the zip format (torch >= 1.6): {'state_dict': OrderedDict, 'global_step': 123, ...} with
                       f32/f16/bf16/i64/bool tensors, two tensors sharing one storage, a transposed
                       (non-contiguous) tensor, an nn.Parameter, and torch's state_dict _metadata attribute
  legacy.pt            the same object in the legacy format (_use_new_zipfile_serialization=False)
  embedding.pt         AUTOMATIC1111's textual-inversion layout
  malicious.pt         a pickle whose REDUCE calls os.system: SdSharp must refuse it (nothing is run here either:
                       the payload is only pickled, never loaded)
  expected.json        names, dtypes, shapes and values of every tensor, and the refused global's name

Needs only torch. Usage: python3 make_io_fixtures.py OUT_DIR
"""
import json
import os
import sys

import torch

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def describe(name, t, storages):
    """What a reader must find: values in row-major order, and where the tensor sits in its storage."""
    flat = t.detach().reshape(-1)
    as_number = float if t.is_floating_point() else int
    storage = t.untyped_storage().data_ptr()
    storages.setdefault(storage, len(storages))
    return {
        "name": name,
        "dtype": DTYPES[t.dtype],
        "shape": list(t.shape),
        "head": [as_number(v) for v in flat[:8].tolist()],
        "sum": float(flat.double().sum()),
        "storage": storages[storage],
        "storage_offset": t.storage_offset(),
        "contiguous": t.is_contiguous(),
    }


def describe_all(tensors):
    storages = {}
    return [describe(name, t, storages) for name, t in tensors]


def state_dict_checkpoint():
    torch.manual_seed(0)
    sd = torch.nn.Linear(3, 2).state_dict()  # an OrderedDict with torch's _metadata attribute
    base = torch.arange(10, dtype=torch.float16) / 4
    sd["shared.head"] = base[:4]  # two views of one storage, at offsets 0 and 4
    sd["shared.tail"] = base[4:].view(2, 3)
    sd["half.w"] = torch.randn(4, 5).half()
    sd["bf16.w"] = torch.randn(3, 2).to(torch.bfloat16)
    sd["long.ids"] = torch.arange(7, dtype=torch.int64) - 3
    sd["transposed"] = torch.randn(3, 4).t()  # shape (4, 3), strides (1, 4)
    sd["flags"] = torch.tensor([True, False, True])
    sd["param"] = torch.nn.Parameter(torch.full((2,), 0.5))  # pickled through _rebuild_parameter
    obj = {"state_dict": sd, "global_step": 123, "epoch": 4, "lr": 0.0001}
    metadata = {"global_step": "123", "epoch": "4", "lr": "0.0001"}
    return obj, describe_all(sd.items()), metadata


def embedding():
    torch.manual_seed(1)
    vec = torch.randn(2, 768).requires_grad_()  # as A1111 saves a trained embedding
    obj = {"string_to_token": {"*": 265}, "string_to_param": {"*": vec}, "name": "x", "step": 10,
           "sd_checkpoint": "a9263745", "sd_checkpoint_name": "v1-5-pruned"}
    metadata = {"name": "x", "step": "10", "sd_checkpoint": "a9263745", "sd_checkpoint_name": "v1-5-pruned"}
    return obj, describe_all([("string_to_param.*", vec)]), metadata


class Payload:
    """Pickles as os.system('echo ...'): what a malicious checkpoint does on torch.load(weights_only=False)."""

    def __reduce__(self):
        return (os.system, ("echo this checkpoint ran code",))


def main(out):
    os.makedirs(out, exist_ok=True)
    files = {}

    obj, tensors, metadata = state_dict_checkpoint()
    torch.save(obj, os.path.join(out, "zip_state_dict.ckpt"))
    files["zip_state_dict.ckpt"] = {"format": "pytorch-zip", "tensors": tensors, "metadata": metadata}
    torch.save(obj, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    files["legacy.pt"] = {"format": "pytorch-legacy", "tensors": tensors, "metadata": metadata}

    obj, tensors, metadata = embedding()
    torch.save(obj, os.path.join(out, "embedding.pt"))
    files["embedding.pt"] = {"format": "pytorch-zip", "tensors": tensors, "metadata": metadata,
                             "string_to_token": 265}

    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": Payload()}, os.path.join(out, "malicious.pt"))
    refused = f"{os.system.__module__}.{os.system.__name__}"  # 'posix.system' on Linux

    expected = {"torch_version": torch.__version__, "files": files,
                "malicious": {"file": "malicious.pt", "refused_global": refused}}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)

    total = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files, {total} bytes, to {out}")
    assert total < 200_000, "fixtures must stay small"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
