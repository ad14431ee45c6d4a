# irsa-guard developer targets. `make help` lists them.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 10s

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/irsa-guard (static, version stamped) and bin/kubectl-irsa_guard (the kubectl plugin name)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/irsa-guard ./cmd/irsa-guard
	ln -sf irsa-guard bin/kubectl-irsa_guard

# PLATFORMS are the release binaries make dist builds.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

.PHONY: dist
dist: ## Build the release files: dist/irsa-guard-OS-ARCH + .sha256 (action.yml, pre-commit) and dist/irsa-guard_OS_ARCH.tar.gz (.krew.yaml)
	@rm -rf dist && mkdir -p dist
	@for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; name=irsa-guard-$$os-$$arch; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$$name ./cmd/irsa-guard || exit 1; \
	  (cd dist && sha256sum $$name >$$name.sha256) || exit 1; echo "dist/$$name"; \
	  k=dist/krew-$$os-$$arch; mkdir -p $$k && cp dist/$$name $$k/kubectl-irsa_guard && \
	  tar -C $$k -czf dist/irsa-guard_$${os}_$${arch}.tar.gz kubectl-irsa_guard && rm -r $$k || exit 1; \
	  echo "dist/irsa-guard_$${os}_$${arch}.tar.gz"; done

.PHONY: lint
lint: ## Check formatting, go vet (with the e2e tag too) and golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	hack/golangci-lint.sh ./...

.PHONY: unit
unit: controlplane helm-tools node-tools ## Run the unit, adapter and CLI golden tests (the tools are built first, outside the tests' timeout; bench/ on the cached kube-apiserver)
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh | tail -1) $(GO) test -count=1 ./...

.PHONY: bench
bench: controlplane ## Measure the admission path against its allow-all baseline (docs/performance.md); not part of test
	@hack/bench.sh

.PHONY: bench-smoke
bench-smoke: controlplane ## Run every benchmark once so they keep compiling and working
	@hack/bench.sh --smoke

.PHONY: fuzz
fuzz: ## Run every fuzz target briefly (FUZZTIME each)
	@hack/fuzz.sh $(FUZZTIME)

.PHONY: controlplane
controlplane: ## Build and cache kube-apiserver, etcd and kubectl v1.37.2 from the Go module proxy
	@hack/controlplane.sh >/dev/null

.PHONY: node-tools
node-tools: ## Install the AWS CDK and the SARIF multitool from the npm registry into .cache/node-tools (the IaC and SARIF tests use them)
	@hack/node-tools.sh >/dev/null

.PHONY: helm-tools
helm-tools: ## Build and cache helm and helm-unittest; eval "$$(hack/helm.sh)" exports their env
	@hack/helm.sh >/dev/null

.PHONY: piw
piw: ## Build and cache the real amazon-eks-pod-identity-webhook from ../shared/third_party (the e2e suite's injector)
	@$(GO) run ./hack/piw >/dev/null

.PHONY: e2e
e2e: controlplane helm-tools piw ## End-to-end suite (envtest) on the cached real kube-apiserver, etcd, kubectl and pod-identity-webhook
	@hack/controlplane.sh sweep; rc=0; KUBEBUILDER_ASSETS=$$(hack/controlplane.sh | tail -1) $(GO) test -tags e2e -count=1 -timeout 8m ./e2e/... || rc=$$?; hack/controlplane.sh sweep; exit $$rc

.PHONY: demo
demo: ## Run it: real kube-apiserver + fake AWS + the webhook; apply examples/demo, show kubectl's warnings and denials
	@echo "demo: building kube-apiserver, etcd, kubectl, helm, pod-identity-webhook and irsa-guard if needed (first run: about 15-20 minutes on 2 cores; then instant)"
	@hack/controlplane.sh >/dev/null && hack/helm.sh >/dev/null && $(GO) run ./hack/piw >/dev/null
	@$(MAKE) --no-print-directory build >/dev/null && $(GO) build -o bin/irsa-guard-demo ./hack/demo
	@hack/controlplane.sh sweep; rc=0; KUBEBUILDER_ASSETS=$$(hack/controlplane.sh | tail -1) bin/irsa-guard-demo || rc=$$?; hack/controlplane.sh sweep; exit $$rc

.PHONY: test
test: lint unit bench-smoke fuzz chart-test image-build-check e2e ## Everything CI runs: lint, tests, brief fuzzing, chart and image checks

# EXAMPLE_ISSUER is the OIDC issuer of the example cluster the trust-policy examples trust.
EXAMPLE_ISSUER := https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E

.PHONY: examples
examples: build ## Lint the example manifests offline, then each trust-policy example (IRSA030-035)
	bin/irsa-guard lint -f examples/ --offline || true
	@for d in examples/trust/*/; do \
	  echo; echo "== bin/irsa-guard lint -f $$d --trust-policy $${d}trust-policy.json --issuer $(EXAMPLE_ISSUER)"; \
	  bin/irsa-guard lint -f $$d --trust-policy $${d}trust-policy.json --issuer $(EXAMPLE_ISSUER) || true; \
	done

IMAGE ?= ghcr.io/irsa-guard/irsa-guard:$(VERSION)

.PHONY: chart-docs
chart-docs: ## Regenerate the chart README's parameter table from values.yaml comments (helm-docs)
	@hack/helm-docs.sh

.PHONY: chart-lint
chart-lint: ## helm lint --strict and helm template the chart with every ci/*-values.yaml
	@bash hack/chart-test.sh lint

.PHONY: chart-test
chart-test: ## Chart CI: README up to date, lint, every scenario, bad values rejected, helm-unittest
	@bash hack/chart-test.sh

.PHONY: image
image: ## Build the container image IMAGE (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: image-build-check
image-build-check: ## Run the Dockerfile's build step without Docker and check the binary
	@bash hack/image-build-check.sh

.PHONY: fake-aws
fake-aws: ## Serve examples/demo/aws-state.yaml as a local fake IAM/STS/EKS (prints the AWS_* env); dev tooling, not in the product binary
	$(GO) build -o bin/fake-aws ./hack/fake-aws
	bin/fake-aws --state examples/demo/aws-state.yaml --oidc-issuer

SOAK_DURATION ?= 10m
SOAK_RATE ?= 500

# The chart's memory limit in MiB; scale runs serve in a memory cgroup of that size (root only; 0: none).
SCALE_MEMORY_LIMIT ?= $(if $(filter 0,$(shell id -u)),256,0)

.PHONY: scale
scale: controlplane helm-tools ## Measure a real serve process holding 100 and 10,000 ServiceAccounts with distinct roles, in the chart's memory limit: RSS, peak, warm latency; not part of test
	@hack/controlplane.sh sweep; rc=0; SCALE_MEMORY_LIMIT=$(SCALE_MEMORY_LIMIT) KUBEBUILDER_ASSETS=$$(hack/controlplane.sh | tail -1) $(GO) run ./hack/soak -scale 100,10000 || rc=$$?; hack/controlplane.sh sweep; exit $$rc

.PHONY: soak
soak: controlplane helm-tools ## Soak serve: SOAK_DURATION (10m) at SOAK_RATE (500) reviews/s with IAM faults; plots docs/soak.svg; not part of test
	@hack/controlplane.sh sweep; rc=0; KUBEBUILDER_ASSETS=$$(hack/controlplane.sh | tail -1) $(GO) run ./hack/soak -duration $(SOAK_DURATION) -rate $(SOAK_RATE) -svg docs/soak.svg || rc=$$?; hack/controlplane.sh sweep; exit $$rc
