# LineSight: make setup, make demo, make test.
GO        ?= go
BIN       := bin/linesight
DEMO_DIR  := out/demo

.PHONY: setup build demo test test-short bench vet clean

setup: ## install system packages, the ONNX Runtime library and Go modules
	./firmware/install-deps.sh

build:
	$(GO) build -o $(BIN) ./appliance/cmd/linesight

# A tiny model with random weights and a generated image: shows the whole
# engine working. Its scores mean nothing; see docs/models.md for real models.
demo: build
	@mkdir -p $(DEMO_DIR)
	$(BIN) model synth --preset tiny --seed 1 --out $(DEMO_DIR)/model --variants fp32,int8
	$(BIN) demo-image --out $(DEMO_DIR)/part.png
	$(BIN) classify --bundle $(DEMO_DIR)/model --prompt "a photo of a good part" --prompt "a photo of a scratched part" $(DEMO_DIR)/part.png

# The test command CI runs. References (Pillow) are required, not skipped.
test:
	LINESIGHT_REQUIRE_REFERENCE=1 $(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/...

vet:
	$(GO) vet ./...

clean:
	rm -rf bin out
