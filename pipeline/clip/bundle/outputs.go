package bundle

// The vision model's outputs that the engine reads by name: the contract
// between the models a bundle holds and the runtime.
const (
	// OutputImageEmbeds is the projected image embedding [batch, dim].
	OutputImageEmbeds = "image_embeds"
	// PatchTokensOutput prefixes the patch tokens of a layer,
	// patch_tokens.<layer>: [batch, patches, width], the golden-sample
	// anomaly maps' memory.
	PatchTokensOutput = "patch_tokens."
	// OutputPatchEmbeds is the dense patch embeddings [batch, patches,
	// dim], unit length, for the zero-shot anomaly map.
	OutputPatchEmbeds = "patch_embeds"
)
