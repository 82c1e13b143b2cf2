"""LineSight's distillation trainer: teaches a student CLIP vision tower to
give the teacher's image embeddings, so the teacher's text embeddings (and
every defect-class file) keep working with the student.

An offline tool: `linesight model distill` prepares the job (the images,
preprocessed as the student sees them, the teacher's embeddings computed by
LineSight's engine, the student's initial weights) and runs this script
with Debian's python3-torch; the appliance never needs Python.

The tower follows Hugging Face's CLIPVisionModel with the visual
projection (same parameter names and maths as LineSight's graph builder),
so the weights written back load into LineSight's builder unchanged.

Usage: trainer.py JOB.json. The job:
  {"config": {vision_config...}, "projection_dim": n,
   "init": "init.safetensors", "out": "student.safetensors",
   "pixels": "pixels.f32", "teacher": "teacher.f32", "count": N,
   "size": S, "train": [indices], "held_out": [indices],
   "epochs": E, "minutes": M, "batch": B, "lr": x, "seed": s,
   "augment": {"shift": px, "rotate": degrees, "brightness": fraction}}
pixels.f32 is N x 3 x S x S float32 (little-endian), normalised as CLIP
does; teacher.f32 is N x projection_dim, unit length. Progress lines go to
stdout as "PROGRESS {json}", the last line is "RESULT {json}".
"""

import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    # head_dim is each head's width: width // heads, unless heads were pruned.
    def __init__(self, width, heads, head_dim):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.q_proj = nn.Linear(width, inner)
        self.k_proj = nn.Linear(width, inner)
        self.v_proj = nn.Linear(width, inner)
        self.out_proj = nn.Linear(inner, width)

    def forward(self, x):
        b, n, _ = x.shape
        hd = self.head_dim

        def split(t):
            return t.reshape(b, n, self.heads, hd).transpose(1, 2)

        q = split(self.q_proj(x)) * hd ** -0.5
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        out = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, n, self.heads * hd))


class Layer(nn.Module):
    def __init__(self, width, inter, heads, head_dim, eps, act):
        super().__init__()
        self.self_attn = Attention(width, heads, head_dim)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(width, inter)
        self.mlp.fc2 = nn.Linear(inter, width)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)
        self.act = quick_gelu if act == "quick_gelu" else (lambda t: F.gelu(t))

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        h = self.layer_norm2(x)
        return x + self.mlp.fc2(self.act(self.mlp.fc1(h)))


class Student(nn.Module):
    """CLIPVisionModel + visual_projection, Hugging Face's parameter names."""

    def __init__(self, c, proj):
        super().__init__()
        w, p = c["hidden_size"], c["patch_size"]
        vm = nn.Module()
        vm.embeddings = nn.Module()
        vm.embeddings.class_embedding = nn.Parameter(torch.zeros(w))
        vm.embeddings.patch_embedding = nn.Conv2d(c.get("num_channels", 3), w, kernel_size=p, stride=p, bias=False)
        vm.embeddings.position_embedding = nn.Embedding((c["image_size"] // p) ** 2 + 1, w)
        vm.pre_layrnorm = nn.LayerNorm(w, eps=c["layer_norm_eps"])
        vm.encoder = nn.Module()
        vm.encoder.layers = nn.ModuleList(
            Layer(w, c["intermediate_size"], c["num_attention_heads"],
                  c.get("head_dim") or w // c["num_attention_heads"],
                  c["layer_norm_eps"], c.get("hidden_act", "quick_gelu"))
            for _ in range(c["num_hidden_layers"]))
        vm.post_layernorm = nn.LayerNorm(w, eps=c["layer_norm_eps"])
        self.vision_model = vm
        self.visual_projection = nn.Linear(w, proj, bias=False)

    def forward(self, pixels):
        vm = self.vision_model
        e = vm.embeddings
        patches = e.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = e.class_embedding.expand(pixels.shape[0], 1, -1)
        x = torch.cat([cls, patches], dim=1) + e.position_embedding.weight
        x = vm.pre_layrnorm(x)
        for layer in vm.encoder.layers:
            x = layer(x)
        return self.visual_projection(vm.post_layernorm(x[:, 0]))


# safetensors, by its published format: an 8-byte little-endian header
# length, a JSON header of name -> dtype, shape, offsets, then the data.

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {meta['dtype']}, want F32")
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy().reshape(meta["shape"]))
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().numpy().astype("<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def augment(x, a, gen):
    """What a line sees: small shifts, small rotations, brightness. On the
    normalised tensor: a brightness change scales the pixels about the
    image's mean, the geometric ones resample."""
    b = x.shape[0]
    if a.get("brightness", 0) > 0:
        s = 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * a["brightness"]
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = m + (x - m) * s
    shift, rot = a.get("shift", 0), a.get("rotate", 0)
    if shift > 0 or rot > 0:
        size = x.shape[-1]
        ang = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(rot)
        tx = (torch.rand(b, generator=gen) * 2 - 1) * (2 * shift / size)
        ty = (torch.rand(b, generator=gen) * 2 - 1) * (2 * shift / size)
        theta = torch.stack([
            torch.stack([torch.cos(ang), -torch.sin(ang), tx], dim=1),
            torch.stack([torch.sin(ang), torch.cos(ang), ty], dim=1)], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    return x


def mean_cosine(model, pixels, target, idx, batch, device):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            sel = idx[i:i + batch]
            out = F.normalize(model(pixels[sel].to(device)), dim=-1)
            total += (out * target[sel].to(device)).sum().item()
    return total / max(1, len(idx))


def progress(**kw):
    print("PROGRESS " + json.dumps(kw), flush=True)


def main():
    job = json.load(open(sys.argv[1]))
    torch.manual_seed(job.get("seed", 1))
    torch.set_num_threads(job.get("threads") or os.cpu_count() or 1)  # 0: every core
    gen = torch.Generator().manual_seed(job.get("seed", 1))
    n, s, d = job["count"], job["size"], job["projection_dim"]
    pixels = torch.from_numpy(np.fromfile(job["pixels"], dtype="<f4").reshape(n, 3, s, s))
    target = F.normalize(torch.from_numpy(np.fromfile(job["teacher"], dtype="<f4").reshape(n, d)), dim=-1)
    train, held = torch.tensor(job["train"]), torch.tensor(job["held_out"])

    # A CUDA box trains on its GPU; everything else on the CPU.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = Student(job["config"], d)
    state = read_safetensors(job["init"])
    missing = set(dict(model.named_parameters())) - set(state)
    if missing:
        raise SystemExit(f"{job['init']}: no {sorted(missing)[:3]}")
    model.load_state_dict({k: v for k, v in state.items() if k in dict(model.named_parameters())}, strict=False)
    model.to(device)

    before = mean_cosine(model, pixels, target, held, 64, device)
    progress(stage="start", held_out_cosine=before, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=job.get("lr", 1e-3), weight_decay=0.01)
    epochs, minutes, batch = job.get("epochs", 0), job.get("minutes", 0), job.get("batch", 32)
    steps_per_epoch = max(1, math.ceil(len(train) / batch))
    total = epochs * steps_per_epoch if epochs else 0
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=job.get("lr", 1e-3), total_steps=total) if total else None
    start, step, epoch = time.time(), 0, 0
    said, loss = start, None

    def out_of_time():
        return bool(minutes) and time.time() - start >= 60 * minutes

    while not out_of_time():
        # No epochs and no minutes: the student as it is (a pruned cut).
        if (epochs and epoch >= epochs) or not (epochs or minutes):
            break
        model.train()
        order = train[torch.randperm(len(train), generator=gen)]
        for i in range(0, len(order), batch):
            # --minutes holds between steps, not only between epochs: an
            # epoch of a large student on a CPU can take far longer.
            if out_of_time():
                break
            sel = order[i:i + batch]
            x = augment(pixels[sel], job.get("augment", {}), gen).to(device)
            out = F.normalize(model(x), dim=-1)
            loss = (1 - (out * target[sel].to(device)).sum(dim=-1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            step += 1
            if time.time() - said >= 30:
                said = time.time()
                progress(stage="step", epoch=epoch + 1, steps=step, loss=loss.item(), seconds=round(said - start, 1))
        epoch += 1
        cos = mean_cosine(model, pixels, target, held, 64, device)
        progress(stage="epoch", epoch=epoch, steps=step, loss=loss.item() if loss is not None else None, held_out_cosine=cos,
                 seconds=round(time.time() - start, 1))
    # Untrained (a pruned cut measured as it is): the cosine is the one before.
    after = mean_cosine(model, pixels, target, held, 64, device) if step else before
    write_safetensors(job["out"], {k: v for k, v in model.state_dict().items()})
    print("RESULT " + json.dumps({"cosine_before": before, "cosine_after": after, "steps": step,
                                  "epochs": epoch, "seconds": round(time.time() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
