"""OpenAI CLIP's image transform with Pillow, as the reference for the Go tests.

CLIP's preprocess is torchvision's Resize(n, BICUBIC), CenterCrop(crop),
convert("RGB"), ToTensor and Normalize(mean, std). torchvision is not needed:
its rules for a PIL image are written out below.

Usage: clip_reference.py JOB.json

The job is {"shortest_edge": n or 0, "resize": [w, h] or null,
"crop": [h, w], "mean": [3], "std": [3], "items": [...]}; each item is
{"in": image, "out": tensor file} and may add "decoded": a PNG file to save the
decoded image to, or is {"encode_jpeg": png, "out": jpg, "quality": q,
"subsampling": 0|1|2}, or {"convert": image, "mode": m, "out": png}.
Tensors are CHW float32 little-endian.
"""

import json
import struct
import sys
from array import array

from PIL import Image


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def resize(img, shortest_edge, fixed):
    w, h = img.size
    if fixed:
        new_w, new_h = fixed
    else:
        # torchvision: shorter side to n, longer side int(n * long / short);
        # an image whose shorter side is already n is returned unchanged.
        short, long = (w, h) if w <= h else (h, w)
        if short == shortest_edge:
            return img
        new_short, new_long = shortest_edge, int(shortest_edge * long / short)
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), Image.BICUBIC)


def center_crop(img, crop_h, crop_w):
    # torchvision: pad with zeros when the crop is larger, then take
    # int(round((size - crop) / 2)) from the top-left.
    w, h = img.size
    if crop_w > w or crop_h > h:
        pad_l = (crop_w - w) // 2 if crop_w > w else 0
        pad_t = (crop_h - h) // 2 if crop_h > h else 0
        padded = Image.new(img.mode, (max(w, crop_w), max(h, crop_h)))
        if img.mode == "P":
            padded.putpalette(img.getpalette())
        padded.paste(img, (pad_l, pad_t))
        img = padded
        w, h = img.size
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return img.crop((left, top, left + crop_w, top + crop_h))


def transform(job, item):
    img = Image.open(item["in"])
    img.load()
    if "decoded" in item:
        img.save(item["decoded"], format="PNG")
    img = resize(img, job["shortest_edge"], job.get("resize"))
    img = center_crop(img, *job["crop"])
    img = img.convert("RGB")
    # ToTensor then Normalize, in float32 one operation at a time.
    table = []
    for c in range(3):
        m, s = f32(job["mean"][c]), f32(job["std"][c])
        table.append([f32(f32(f32(v / 255.0) - m) / s) for v in range(256)])
    pix = img.tobytes()
    out = array("f")
    for c in range(3):
        t = table[c]
        out.extend(t[v] for v in pix[c::3])
    if sys.byteorder != "little":
        out.byteswap()
    with open(item["out"], "wb") as f:
        out.tofile(f)


def encode_jpeg(item):
    img = Image.open(item["encode_jpeg"])
    img.save(item["out"], format="JPEG", quality=item["quality"], subsampling=item["subsampling"])


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    for item in job["items"]:
        if "encode_jpeg" in item:
            encode_jpeg(item)
        elif "convert" in item:
            Image.open(item["convert"]).convert(item["mode"]).save(item["out"], format="PNG")
        else:
            transform(job, item)


if __name__ == "__main__":
    main()
