package imagescan

import (
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options bound one scan. The zero value of a field means its default (see withDefaults); the
// defaults suit an interactive `irsa-guard diagnose` against a typical application image.
type Options struct {
	// Keychain finds registry credentials; nil means authn.DefaultKeychain. For a pod, pass
	// authn.NewMultiKeychain(PullSecretsKeychain(secrets), authn.DefaultKeychain).
	Keychain authn.Keychain
	// Transport is the HTTP transport to the registry; nil means the remote package's default.
	Transport http.RoundTripper
	// Platform picks the image of a multi-platform index; nil means linux/amd64.
	Platform *v1.Platform

	// Timeout bounds the whole scan on top of ctx (default 2m).
	Timeout time.Duration
	// MaxBytes is the budget of uncompressed layer bytes read, across all layers (default 2 GiB).
	// Skipping a file still reads it from the layer stream, so it counts.
	MaxBytes int64
	// MaxFileBytes is the largest file read into memory: an executable or a jar (default 128 MiB).
	MaxFileBytes int64
	// MaxEntries caps the tar entries walked across all layers (default 1,000,000).
	MaxEntries int
	// MaxFiles caps the files whose content is inspected (default 20,000).
	MaxFiles int
	// MaxDepth is the deepest path looked at, in directory levels (default 64).
	MaxDepth int
}

// Defaults of Options, exported so the CLI can show them.
const (
	DefaultTimeout      = 2 * time.Minute
	DefaultMaxBytes     = 2 << 30
	DefaultMaxFileBytes = 128 << 20
	DefaultMaxEntries   = 1_000_000
	DefaultMaxFiles     = 20_000
	DefaultMaxDepth     = 64

	// maxMetaBytes caps a metadata file (METADATA, package.json, pom.properties, deps.json,
	// installed.json) and an entry read from inside a jar.
	maxMetaBytes = 8 << 20
	// maxZipEntries caps a jar's central directory, checked before it is parsed.
	maxZipEntries = 200_000
)

func (o Options) withDefaults() Options {
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Platform == nil {
		o.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Report is what one scan found in one image.
type Report struct {
	Ref      string `json:"ref"`      // as given
	Digest   string `json:"digest"`   // of the image scanned (the platform's manifest)
	Platform string `json:"platform"` // e.g. linux/amd64
	SDKs     []SDK  `json:"sdks"`
	// Skipped lists what the scan did not read and why, one line per reason.
	Skipped []Skip `json:"skipped,omitempty"`
	// Complete is false when a budget (bytes, entries, time) stopped the scan before the last layer.
	Complete bool  `json:"complete"`
	Stats    Stats `json:"stats"`
}

// Stats say how much work a scan did.
type Stats struct {
	Layers    int           `json:"layers"`
	Entries   int           `json:"entries"`
	Files     int           `json:"files"` // files whose content was inspected
	Bytes     int64         `json:"bytes"` // uncompressed layer bytes read
	Duration  time.Duration `json:"duration"`
	FromCache bool          `json:"fromCache,omitempty"`
}

// Skip is one reason the scan left something out, with how often and one example path.
type Skip struct {
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Example string `json:"example,omitempty"`
}

// SDK is one AWS SDK (or the AWS CLI) found in the image.
type SDK struct {
	Name        string  `json:"name"`    // e.g. aws-sdk-go, botocore, aws-java-sdk-v2
	Version     string  `json:"version"` // "" when it could not be told
	Path        string  `json:"path"`    // where in the image, e.g. /app/server or /app/lib/x.jar
	IRSA        Support `json:"irsa"`
	PodIdentity Support `json:"podIdentity"`
}

// Support is a verdict about one credential mechanism.
type Support struct {
	Verdict Verdict `json:"verdict"`
	Minimum string  `json:"minimum,omitempty"` // the documented minimum compared against
	Note    string  `json:"note,omitempty"`    // why, when the verdict alone does not say
	// MissingModule names the module whose absence makes the SDK skip the mechanism, e.g.
	// software.amazon.awssdk:sts; the verdict is then "not capable" or "could not tell".
	MissingModule string `json:"missingModule,omitempty"`
}

// Verdict is whether an SDK gets credentials through a mechanism.
type Verdict string

const (
	VerdictOK Verdict = "ok"
	// VerdictTooOld: the version predates the mechanism; the SDK silently uses other credentials.
	VerdictTooOld Verdict = "too old"
	// VerdictNotCapable: no version of this SDK, or this classpath, can use the mechanism.
	VerdictNotCapable Verdict = "not capable"
	// VerdictUnknown: the scan could not tell (no version, an unreadable file, a missing module).
	VerdictUnknown Verdict = "could not tell"
)
