# syntax=docker/dockerfile:1
# irsa-guard image: a static binary on distroless/static (no shell, no package manager), run as
# the distroless "nonroot" user 65532. The build stage runs `make build`, the same command CI runs
# (`make image-build-check`), so the image and CI cannot build the binary differently.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/irsa-guard /irsa-guard
USER 65532:65532
ENTRYPOINT ["/irsa-guard"]
CMD ["serve"]
