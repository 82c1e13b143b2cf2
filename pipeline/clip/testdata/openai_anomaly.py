"""An independent reference for `linesight model anomaly`: CLIP written in
PyTorch with OpenAI's model-code layout (VisionTransformer with conv1,
ln_pre, transformer.resblocks of nn.MultiheadAttention, ln_post and a proj
matrix; the text transformer with ln_final and text_projection), and the
anomaly maps computed from it by their definitions (docs/anomaly.md).

The script makes seeded random weights and writes:

  OUT/hf/             the same weights as a Hugging Face CLIPModel checkpoint
                      (names and layouts mapped from OpenAI's here, float16
                      shards), for LineSight to import;
  OUT/reference.json  {"runs": one list per layer set of, per image, its
                      fewshot, zeroshot, map and score; "logit_scale"}.

Usage: openai_anomaly.py JOB.json, where the job is
{"out": dir, "seed": n, "config": {CLIPModel config.json}, "logit_scale": s,
 "layer_sets": [[memory layers], ...], "golden": [pixel files],
 "images": [pixel files], "ids": [[token ids]], "classes": [[prompt indices
 of a class]]}. Pixel files are CHW float32 little-endian tensors; class 0
is the good class.
"""

import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_clip import write_safetensors  # noqa: E402  the plain safetensors writer


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, mlp_width, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, mlp_width)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(mlp_width, d_model)),
        ]))
        self.ln_2 = nn.LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x):
        mask = self.attn_mask.to(dtype=x.dtype) if self.attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp_width, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, mlp_width, attn_mask) for _ in range(layers)])


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, mlp_width, output_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, mlp_width)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, output_dim))

    def forward(self, x):
        """Returns the image embedding [B, E], every hidden state h_0..h_L
        as [B, 1+g*g, W], and the dense patch embeddings [B, g*g, E]."""
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        hidden = [x]
        for block in self.transformer.resblocks:
            x = block(x)
            hidden.append(x)
        image = self.ln_post(x[0]) @ self.proj

        # MaskCLIP: the last block's value path alone on its input.
        last = self.transformer.resblocks[-1]
        w = x.shape[-1]
        y = last.ln_1(hidden[-2][1:])  # patches only, LND
        v = F.linear(y, last.attn.in_proj_weight[2 * w:], last.attn.in_proj_bias[2 * w:])
        u = last.attn.out_proj(v)
        dense = F.normalize(self.ln_post(u) @ self.proj, dim=-1).permute(1, 0, 2)
        return image, [h.permute(1, 0, 2) for h in hidden], dense


class CLIP(nn.Module):
    def __init__(self, c):
        super().__init__()
        vc, tc = c["vision_config"], c["text_config"]
        self.visual = VisionTransformer(vc["image_size"], vc["patch_size"], vc["hidden_size"],
                                        vc["num_hidden_layers"], vc["num_attention_heads"],
                                        vc["intermediate_size"], c["projection_dim"])
        ctx = tc["max_position_embeddings"]
        mask = torch.empty(ctx, ctx).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(tc["hidden_size"], tc["num_hidden_layers"], tc["num_attention_heads"],
                                       tc["intermediate_size"], attn_mask=mask)
        self.token_embedding = nn.Embedding(tc["vocab_size"], tc["hidden_size"])
        self.positional_embedding = nn.Parameter(torch.zeros(ctx, tc["hidden_size"]))
        self.ln_final = nn.LayerNorm(tc["hidden_size"])
        self.text_projection = nn.Parameter(torch.zeros(tc["hidden_size"], c["projection_dim"]))
        self.logit_scale = nn.Parameter(torch.zeros([]))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = x.permute(1, 0, 2)
        x = self.transformer.resblocks(x)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


def randomise(model, seed, logit_scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(logit_scale)
            elif p.dim() == 1 and ("ln_" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 and name != "visual.class_embedding":
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif "embedding" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name in ("visual.proj", "text_projection"):  # used as x @ P: fan-in is the rows
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[0]))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            # The checkpoint stores float16: compute with exactly those values.
            p.copy_(p.half().float())


def hf_state(model):
    """The weights under Hugging Face CLIPModel names and layouts."""
    s = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "transformer.resblocks.0.attn_mask"}
    out = {
        "vision_model.embeddings.patch_embedding.weight": s["visual.conv1.weight"],
        "vision_model.embeddings.class_embedding": s["visual.class_embedding"],
        "vision_model.embeddings.position_embedding.weight": s["visual.positional_embedding"],
        "vision_model.pre_layrnorm.weight": s["visual.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": s["visual.ln_pre.bias"],
        "vision_model.post_layernorm.weight": s["visual.ln_post.weight"],
        "vision_model.post_layernorm.bias": s["visual.ln_post.bias"],
        "visual_projection.weight": s["visual.proj"].t().contiguous(),
        "text_model.embeddings.token_embedding.weight": s["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": s["positional_embedding"],
        "text_model.final_layer_norm.weight": s["ln_final.weight"],
        "text_model.final_layer_norm.bias": s["ln_final.bias"],
        "text_projection.weight": s["text_projection"].t().contiguous(),
        "logit_scale": s["logit_scale"],
    }

    def blocks(src, dst, n):
        for i in range(n):
            a, b = f"{src}.resblocks.{i}.", f"{dst}.encoder.layers.{i}."
            w, bias = s[a + "attn.in_proj_weight"], s[a + "attn.in_proj_bias"]
            for j, name in enumerate(["q_proj", "k_proj", "v_proj"]):
                d = w.shape[1]
                out[b + f"self_attn.{name}.weight"] = w[j * d:(j + 1) * d].contiguous()
                out[b + f"self_attn.{name}.bias"] = bias[j * d:(j + 1) * d].contiguous()
            pairs = {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
                     "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
            for x, y in pairs.items():
                out[b + y + ".weight"] = s[a + x + ".weight"]
                out[b + y + ".bias"] = s[a + x + ".bias"]

    blocks("visual.transformer", "vision_model", len(model.visual.transformer.resblocks))
    blocks("transformer", "text_model", len(model.transformer.resblocks))
    return out


def load_pixels(paths, side):
    return torch.stack([torch.from_numpy(np.fromfile(p, dtype="<f4").reshape(3, side, side)) for p in paths])


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    config = job["config"]
    torch.manual_seed(job["seed"])
    model = CLIP(config).eval()
    randomise(model, job["seed"], job["logit_scale"])

    hf = os.path.join(job["out"], "hf")
    os.makedirs(hf, exist_ok=True)
    with open(os.path.join(hf, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(hf, "model.safetensors"), hf_state(model))

    side = config["vision_config"]["image_size"]
    runs = []
    with torch.no_grad():
        classes = None
        if job.get("classes"):
            text = F.normalize(model.encode_text(torch.tensor(job["ids"], dtype=torch.int64)), dim=-1)
            classes = torch.stack([F.normalize(text[idx].mean(dim=0), dim=-1) for idx in job["classes"]])
        _, golden_hidden, _ = model.visual(load_pixels(job["golden"], side))
        _, hidden, dense = model.visual(load_pixels(job["images"], side))
        for layers in job["layer_sets"]:
            # Per layer: the unit patch tokens of every golden image.
            bank = [F.normalize(golden_hidden[l][:, 1:].reshape(-1, golden_hidden[l].shape[-1]), dim=-1)
                    for l in layers]
            lines = []
            for i in range(len(job["images"])):
                line, maps = {}, []
                per_layer = [0.5 * (1 - (F.normalize(hidden[l][i, 1:], dim=-1) @ b.T).max(dim=1).values)
                             for l, b in zip(layers, bank)]
                line["fewshot"] = torch.stack(per_layer).mean(dim=0)
                maps.append(line["fewshot"])
                if classes is not None:
                    probs = torch.softmax(model.logit_scale.exp() * dense[i] @ classes.T, dim=-1)
                    line["zeroshot"] = 1 - probs[:, 0]
                    maps.append(line["zeroshot"])
                line["map"] = torch.stack(maps).mean(dim=0)
                line["score"] = line["map"].max()
                lines.append({k: v.tolist() for k, v in line.items()})
            runs.append(lines)
    with open(os.path.join(job["out"], "reference.json"), "w") as f:
        json.dump({"runs": runs, "logit_scale": model.logit_scale.exp().item()}, f)


if __name__ == "__main__":
    main()
