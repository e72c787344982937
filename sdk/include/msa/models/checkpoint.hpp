// Hugging Face model folders: config.json plus weights (model.safetensors, a torch.save
// zip such as pytorch_model.bin, or shards listed in *.index.json), read without Python,
// and strict loading of those weights into LibTorch modules named like the checkpoint.
#pragma once

#include <msa/error.hpp>
#include <msa/models/export.hpp>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace msa::models {

// Tensors by checkpoint name ("encoder.layer.0.attention.self.query.weight").
using StateDict = std::map<std::string, at::Tensor>;

// A checkpoint that cannot be read or does not fit the model; the message names the
// file and, for a mismatch, every offending tensor.
class CheckpointError : public Error {
public:
    using Error::Error;
};

// One weight file. safetensors tensors are zero-copy views of a memory map of the file
// (copy-on-write: an in-place op changes private pages, never the file) that lives as
// long as any of them; a tensor whose offset is not aligned to its dtype is copied.
// Malformed files (bad header, unknown dtype, offsets out of range, overlapping tensors,
// holes or trailing bytes in the data, duplicate names) are errors naming the file.
MSA_MODELS_API StateDict read_safetensors(const std::filesystem::path& file);
// A torch.save zip archive (PyTorch >= 1.6), unpickled with a restricted set of globals,
// like torch.load(weights_only=True): any other global is refused by name. Tensors that
// shared a storage still share it (views keep their offset and strides). The state dict
// is the saved dict when all its values are tensors; else the one value that is such a
// dict ({"state_dict": ..., "epoch": 3}) is used; two candidates or none are an error.
// TorchScript archives are refused with a way to convert them.
MSA_MODELS_API StateDict read_torch_zip(const std::filesystem::path& file);
// A legacy torch.save file (PyTorch < 1.6, or _use_new_zipfile_serialization=False),
// unpickled with the same restricted set of globals.
MSA_MODELS_API StateDict read_torch_legacy(const std::filesystem::path& file);
// Any of the above, chosen by the file's content, not its name; anything else is an error
// listing the accepted formats and a command that converts a file to safetensors.
MSA_MODELS_API StateDict read_weights(const std::filesystem::path& file);

struct Checkpoint {
    std::filesystem::path folder;
    nlohmann::json config;         // config.json; an empty object when the folder has none
    StateDict weights;
    std::vector<std::filesystem::path> weight_files;
    std::string digest;            // SHA-256 of the weight files' bytes, in weight_files order, hex
};

// Reads a model folder. Weights are looked for in this order: model.safetensors,
// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json, a single
// *.pth/*.pt. A sharded index's shards are all read (weight_files in shard-name order); a
// name mapped to a missing shard, or absent from its shard, is an error. A missing folder or
// no weights is an error naming the folder and how to get one; a config.json that is not
// JSON is an error at file:line:column.
MSA_MODELS_API Checkpoint load_checkpoint(const std::filesystem::path& folder);

struct LoadOptions {
    // Only names starting with this prefix are used; the prefix is removed first
    // ("text_model." for CLIP's text tower inside a CLIPModel checkpoint).
    std::string prefix;
    // Checkpoint names (after the prefix) starting with one of these may be left unused
    // (a classification head the encoder does not need).
    std::vector<std::string> may_ignore;
    // Module names starting with one of these may be absent from the checkpoint (buffers
    // the checkpoint predates, such as position_ids).
    std::vector<std::string> may_be_missing;
};

// Copies weights into the module's parameters and buffers by name under NoGradGuard,
// converting dtype within a kind (float64/16 -> float32; int32 -> int64; never float <-> int).
// Strict: every missing, unexpected, wrongly shaped or wrongly kinded tensor is listed in
// one error, with shapes, and nothing is copied; when the checkpoint wraps the model under
// a prefix ("bert."), the error suggests LoadOptions::prefix. `source` names the checkpoint.
MSA_MODELS_API void load_state_dict(torch::nn::Module& module, const StateDict& weights,
                                    const std::string& source, const LoadOptions& options = {});

} // namespace msa::models
