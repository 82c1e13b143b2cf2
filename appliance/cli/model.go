package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
)

func modelTokenize(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model tokenize", stdio)
	context := fs.Int("context", 77, "context length: ids are zero padded or truncated to it (EOT kept last)")
	dir := fs.String("bundle", "", "use this bundle's tokenizer files (default: OpenAI's vocabulary, built in)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *context < 2 {
		return fmt.Errorf("--context %d: need at least 2 (SOT and EOT)", *context)
	}
	var tok *tokenizer.Tokenizer
	var err error
	if *dir != "" {
		tok, err = tokenizer.FromDir(*dir)
	} else {
		tok, err = tokenizer.Default()
	}
	if err != nil {
		return err
	}
	in := bufio.NewScanner(stdio.In)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	out := bufio.NewWriter(stdio.Out)
	defer out.Flush()
	ids := make([]int64, *context)
	for line := 1; in.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := tok.TokenizeInto(ids, in.Text()); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		data, _ := json.Marshal(ids)
		out.Write(data)
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}

func modelPreprocess(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model preprocess", stdio)
	dir := fs.String("bundle", "", "model bundle whose preprocessor_config.json sets size, mean and std")
	outPath := fs.String("out", "", "output file: float32 CHW tensors, little-endian, in argument order")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *outPath == "" || fs.NArg() == 0 {
		return fmt.Errorf("need --bundle DIR --out FILE and at least one IMAGE")
	}
	b, err := bundle.Open(*dir)
	if err != nil {
		return err
	}
	p := b.Preprocess
	pre := preprocess.New(p)
	defer pre.Close()
	tensor := make([]float32, 3*p.CropHeight*p.CropWidth)
	raw := make([]byte, 4*len(tensor))
	f, err := os.Create(*outPath)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, path := range fs.Args() {
		img, err := cvmat.LoadImageFile(path)
		if err != nil {
			f.Close()
			os.Remove(*outPath)
			return err
		}
		if err := pre.Image(img, tensor); err != nil {
			f.Close()
			os.Remove(*outPath)
			return fmt.Errorf("preprocess %s: %w", path, err)
		}
		for i, v := range tensor {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		w.Write(raw)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *outPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *outPath, err)
	}
	fmt.Fprintf(stdio.Err, "wrote %d tensors of 3x%dx%d to %s\n", fs.NArg(), p.CropHeight, p.CropWidth, *outPath)
	return nil
}

func modelEmbed(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model embed", stdio)
	var ef engineFlags
	ef.register(fs)
	var images, texts stringList
	fs.Var(&images, "image", "image file to embed (repeatable)")
	fs.Var(&texts, "text", "text to embed (repeatable)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if len(images) == 0 && len(texts) == 0 {
		return fmt.Errorf("nothing to embed: give --image FILE and/or --text STR")
	}
	m, err := ef.open(stdio, len(images) == 0, len(texts) == 0)
	if err != nil {
		return err
	}
	defer m.Close()
	result := map[string][][]float32{}
	if len(images) > 0 {
		imgs, err := loadImages(images)
		if err != nil {
			return err
		}
		if result["image_embeds"], err = m.EmbedImages(imgs); err != nil {
			return err
		}
	}
	if len(texts) > 0 {
		if result["text_embeds"], err = m.EmbedTexts(texts); err != nil {
			return err
		}
	}
	return json.NewEncoder(stdio.Out).Encode(result)
}

func loadImages(paths []string) ([]image.Image, error) {
	imgs := make([]image.Image, len(paths))
	for i, p := range paths {
		img, err := cvmat.LoadImageFile(p)
		if err != nil {
			return nil, err
		}
		imgs[i] = img
	}
	return imgs, nil
}

func parseList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
