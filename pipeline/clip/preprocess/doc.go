// Package preprocess turns camera frames and decoded images into the CLIP
// vision tower's input tensor, bit for bit as OpenAI's reference transform
// does on a PIL image:
//
//	Resize(n, BICUBIC) -> CenterCrop(crop) -> convert("RGB") -> /255 -> Normalize(mean, std)
//
// The details that matter to the last pixel are reproduced: the shorter side
// becomes n and the longer int(n*long/short); Pillow's antialiased bicubic
// (a = -0.5, support widened when downscaling, 22-bit fixed-point
// coefficients) runs horizontally then vertically with uint8 rounding after
// each pass; the crop offset is int(round((size-crop)/2)) with Python's
// half-to-even rounding; RGBA is resampled premultiplied by alpha, palette
// images with nearest-neighbour, and grey images stay one channel until the
// final conversion. JPEG images decoded by image/jpeg are converted to RGB with
// libjpeg's fancy chroma upsampling and integer colour tables, as Pillow's
// decoder does.
//
// The tests check all of this against Pillow itself (testdata/clip_reference.py):
// PNG files in modes RGB, L, RGBA, P and 1 give bit-identical tensors. JPEG
// files decoded by image/jpeg do not quite: its IDCT is not libjpeg's and
// moves a few percent of decoded values by up to 3 levels, which ends up as
// at most about 0.06 in the normalised tensor; the pixels Pillow decodes give
// its tensor exactly. That is why files are loaded with cvmat.LoadImageFile,
// which decodes JPEG with libjpeg-turbo through OpenCV, Pillow's own decoder:
// bit-identical tensors for JPEG too.
//
// Only the part of the resized image that the crop keeps is computed, and
// large frames are resampled on a pool of goroutines. Package cvmat reads
// GoCV Mats in place.
package preprocess
