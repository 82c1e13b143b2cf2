# LineSight: make setup, make demo, make test.
GO        ?= go
BIN       := bin/linesight
DEMO_DIR  := out/demo
DEB_DIR   ?= out/deb
# The version `linesight version` prints: the nearest tag, commits since,
# the commit, and -dirty for uncommitted changes.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/linesight/linesight/appliance/cli.Version=$(VERSION)

.PHONY: setup assets build deb demo test test-short bench vet lint clean

setup: ## install system packages, the ONNX Runtime library and Go modules
	./firmware/install-deps.sh
	$(MAKE) assets

# The dashboard's third-party browser files (Chart.js): fetched with npm,
# copied into web/ui/static/vendor (not committed), embedded by go build.
assets:
	npm ci --no-audit --no-fund
	npm run build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./appliance/cmd/linesight

# The Debian package of the appliance alone: docs/deploy.md.
deb: build
	./firmware/deb/build.sh $(BIN) $(VERSION) $(DEB_DIR)

# The appliance on its synthetic line, with a generated model (random
# weights: its verdicts mean nothing; see docs/models.md for real models).
# DEMO_PRESET=vit-b-32 gives a model of the real size.
DEMO_PRESET ?= tiny
demo: build
	@mkdir -p $(DEMO_DIR)
	@test -d $(DEMO_DIR)/model || $(BIN) model synth --preset $(DEMO_PRESET) --seed 1 --out $(DEMO_DIR)/model --variants fp32,int8
	@echo
	@echo "  LineSight demo: a synthetic line inspected by a model with RANDOM weights (verdicts mean nothing)."
	@echo "  Dashboard: http://127.0.0.1:8080/  (live view open; log in as admin with the password printed at first start, also in $(DEMO_DIR)/data/initial-admin-password)"
	@echo "  Trigger:   LINESIGHT_PASSWORD=<admin password> $(BIN) trigger --user admin --camera station2 --part-id P-1"
	@echo "  Stop:      Ctrl-C"
	@echo
	$(BIN) run --config appliance/demo/linesight.yaml

# The test command CI runs. References (Pillow) are required, not skipped.
test:
	LINESIGHT_REQUIRE_REFERENCE=1 $(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/...

vet:
	$(GO) vet ./...

# vet, and no test drops an error: errcheck, installed at a pinned version
# into Go's bin directory (apart from the appliance's own modules), lists
# every unchecked or blank-assigned error; none may be in a _test.go file.
# It exits 1 when it finds any, also in the appliance's own code (mostly
# prints to a terminal and closes of files only read), which is not gated
# here; above 1 when it cannot check at all.
ERRCHECK = $(shell $(GO) env GOPATH)/bin/errcheck
lint: vet
	$(GO) install github.com/kisielk/errcheck@v1.30.0
	@mkdir -p out; $(ERRCHECK) -blank ./... > out/errcheck.txt 2>&1; rc=$$?; \
	if [ $$rc -gt 1 ]; then cat out/errcheck.txt; echo "errcheck could not check the tree"; exit 1; fi; \
	if grep '_test\.go:' out/errcheck.txt; then echo "tests drop the errors above: check them"; exit 1; fi

clean:
	rm -rf bin out

# Firmware (docs/firmware.md). RAUC_KEYRING, RAUC_CERT, RAUC_KEY default to
# a development chain made by firmware/rauc/dev-keys.sh: never for boxes
# in the field.
IMAGE_DIR    ?= out/image
DEV_KEYS     ?= out/rauc-dev
RAUC_KEYRING ?= $(DEV_KEYS)/ca.cert.pem
RAUC_CERT    ?= $(DEV_KEYS)/signing.cert.pem
RAUC_KEY     ?= $(DEV_KEYS)/signing.key.pem
VERSION      ?= dev

.PHONY: dev-keys image bundle
dev-keys:
	./firmware/rauc/dev-keys.sh $(DEV_KEYS)

image: build dev-keys
	./firmware/mkosi/build-image.sh $(IMAGE_DIR) $(BIN) /usr/local/lib/linesight/libonnxruntime.so.1 firmware/systemd $(RAUC_KEYRING)

bundle: dev-keys
	./firmware/rauc/make-bundle.sh $(IMAGE_DIR)/rootfs.squashfs $(VERSION) $(RAUC_CERT) $(RAUC_KEY) $(IMAGE_DIR)/linesight-$(VERSION).raucb
