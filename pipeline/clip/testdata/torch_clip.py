"""An independent CLIP in PyTorch: the reference the Go fidelity tests check
LineSight's import path, graphs and engine against.

The modules follow Hugging Face's CLIPModel (same parameter names, same
maths), written with torch.nn. The script makes seeded random weights and
writes, from them:

  OUT/hf/          a Hugging Face checkpoint: config.json, a sharded
                   model.safetensors.index.json with float16 shards (written
                   by the little writer below, not by LineSight's code), and
                   an int64 position_ids buffer as save_pretrained leaves it;
  OUT/exported/    a bundle exported by torch.onnx.export (opset 14): vision
                   and text towers that also return last_hidden_state;
  OUT/reference.json  image and text embeddings and zero-shot probabilities.

Usage: torch_clip.py JOB.json, where the job is
{"out": dir, "seed": n, "pixels": [tensor files, CHW float32 LE], "ids": [[...]],
 "config": {...}}. "config" (a CLIPModel config.json) replaces the small
default model, e.g. to export a full-size architecture for benchmarks; without
"pixels" no reference outputs are computed.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

CONFIG = {
    "architectures": ["CLIPModel"],
    "model_type": "clip",
    "projection_dim": 40,
    "logit_scale_init_value": 2.6592,
    "vision_config": {
        "hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 3,
        "num_attention_heads": 4, "image_size": 48, "patch_size": 16,
        "num_channels": 3, "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu",
    },
    "text_config": {
        "vocab_size": 49408, "hidden_size": 48, "intermediate_size": 192,
        "num_hidden_layers": 3, "num_attention_heads": 4,
        "max_position_embeddings": 77, "layer_norm_eps": 1e-5,
        "hidden_act": "quick_gelu", "bos_token_id": 49406, "eos_token_id": 49407,
        "pad_token_id": 1,
    },
}


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, mask):
        b, n, w = x.shape
        hd = w // self.heads

        def split(t):
            return t.reshape(b, n, self.heads, hd).transpose(1, 2)

        q = split(self.q_proj(x)) * hd ** -0.5
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        out = torch.softmax(scores, dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, n, w))


class MLP(nn.Module):
    def __init__(self, width, inter):
        super().__init__()
        self.fc1 = nn.Linear(width, inter)
        self.fc2 = nn.Linear(inter, width)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, width, inter, heads, eps):
        super().__init__()
        self.self_attn = Attention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = MLP(width, inter)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(
            Layer(c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["layer_norm_eps"])
            for _ in range(c["num_hidden_layers"]))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, p = c["hidden_size"], c["patch_size"]
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.patch_embedding = nn.Conv2d(3, w, kernel_size=p, stride=p, bias=False)
        self.position_embedding = nn.Embedding((c["image_size"] // p) ** 2 + 1, w)

    def forward(self, pixels):
        patches = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixels.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight


class VisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = VisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, pixels):
        h = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return h, self.post_layernorm(h[:, 0])


class TextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).unsqueeze(0))

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(self.position_ids[:, : ids.shape[1]])


class TextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = TextEmbeddings(c)
        self.encoder = Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids, attention_mask=None):
        n = ids.shape[1]
        mask = torch.full((n, n), float("-inf")).triu(1)[None, None]
        if attention_mask is not None:
            pad = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            mask = mask + pad
        h = self.final_layer_norm(self.encoder(self.embeddings(ids), mask))
        pooled = h[torch.arange(h.shape[0]), ids.argmax(dim=-1)]
        return h, pooled


class CLIP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_model = VisionModel(c["vision_config"])
        self.text_model = TextModel(c["text_config"])
        self.visual_projection = nn.Linear(c["vision_config"]["hidden_size"], c["projection_dim"], bias=False)
        self.text_projection = nn.Linear(c["text_config"]["hidden_size"], c["projection_dim"], bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(100.0)))


class VisionTower(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        h, pooled = self.m.vision_model(pixel_values)
        return self.m.visual_projection(pooled), h


class TextTower(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        h, pooled = self.m.text_model(input_ids, attention_mask)
        return self.m.text_projection(pooled), h


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                pass
            elif p.dim() == 1 and ("norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif "embedding" in name and "patch" not in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            # The checkpoint stores float16: compute with exactly those values.
            p.copy_(p.half().float())


def write_safetensors(path, tensors):
    """The safetensors format: u64 header size, JSON header, raw data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, data = "F16", t.half().numpy().astype("<f2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def write_checkpoint(model, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    shards = {"model-00001-of-00002.safetensors": {}, "model-00002-of-00002.safetensors": {}}
    weight_map = {}
    for name, t in state.items():
        shard = "model-00001-of-00002.safetensors" if name.startswith("vision") else "model-00002-of-00002.safetensors"
        shards[shard][name] = t
        weight_map[name] = shard
    for shard, tensors in shards.items():
        write_safetensors(os.path.join(out, shard), tensors)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)


def export(model, out):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    vc = CONFIG["vision_config"]
    px = torch.randn(2, 3, vc["image_size"], vc["image_size"])
    torch.onnx.export(VisionTower(model), (px,), os.path.join(out, "onnx", "vision_model.onnx"),
                      input_names=["pixel_values"], output_names=["image_embeds", "last_hidden_state"],
                      dynamic_axes={"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"},
                                    "last_hidden_state": {0: "batch_size"}},
                      opset_version=14, do_constant_folding=True)
    ids = torch.zeros(2, 77, dtype=torch.int64)
    ids[:, 0], ids[:, 1], ids[:, 2] = 49406, 320, 49407
    torch.onnx.export(TextTower(model), (ids, (ids > 0).long()), os.path.join(out, "onnx", "text_model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds", "last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                    "attention_mask": {0: "batch_size", 1: "sequence_length"},
                                    "text_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}},
                      opset_version=14, do_constant_folding=True)


def main():
    global CONFIG
    with open(sys.argv[1]) as f:
        job = json.load(f)
    if "config" in job:
        CONFIG = job["config"]
    torch.manual_seed(job["seed"])
    model = CLIP(CONFIG).eval()
    randomise(model, job["seed"])
    write_checkpoint(model, os.path.join(job["out"], "hf"))
    export(model, os.path.join(job["out"], "exported"))
    if not job.get("pixels"):
        return

    side = CONFIG["vision_config"]["image_size"]
    pixels = torch.stack([torch.from_numpy(np.fromfile(p, dtype="<f4").reshape(3, side, side))
                          for p in job["pixels"]])
    ids = torch.tensor(job["ids"], dtype=torch.int64)
    with torch.no_grad():
        img, _ = VisionTower(model)(pixels)
        txt, _ = TextTower(model)(ids, (ids > 0).long())
        cos = nn.functional.normalize(img, dim=-1) @ nn.functional.normalize(txt, dim=-1).T
        probs = torch.softmax(model.logit_scale.exp() * cos, dim=-1)
    with open(os.path.join(job["out"], "reference.json"), "w") as f:
        json.dump({"image_embeds": img.tolist(), "text_embeds": txt.tolist(),
                   "probabilities": probs.tolist(), "logit_scale": model.logit_scale.exp().item()}, f)


if __name__ == "__main__":
    main()
