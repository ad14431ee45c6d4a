package awsfacts

import (
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Options tunes a Verifier. The zero value gives the defaults documented per field, the
// targets docs/performance.md measures.
type Options struct {
	// Account is irsa-guard's own AWS account; "" asks sts:GetCallerIdentity once.
	Account string
	// ReaderRoles maps another account ID to a role (name or ARN) irsa-guard assumes there to
	// read IAM. Roles in accounts without one get an info "could not verify", never an error.
	ReaderRoles map[string]string

	TTL         time.Duration // positive cache lifetime, refreshed ahead of expiry; default 10m
	NegativeTTL time.Duration // lifetime of a "not found" answer; default 30s
	StaleFor    time.Duration // serve the last good answer this long when AWS fails; default 1h

	// LookupTimeout caps one lookup (all retries included) even for callers without a deadline;
	// default 2s. A caller's earlier deadline always wins.
	LookupTimeout time.Duration
	MaxAttempts   int           // SDK attempts per call; default 2
	MaxBackoff    time.Duration // SDK backoff cap between attempts; default 200ms

	RateLimit rate.Limit // IAM requests per second shared by all lookups; default 5
	Burst     int        // default 20

	// Registerer receives the adapter's metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// Clock is the cache's and the propagation window's time source; default time.Now.
	Clock func() time.Time

	// PublicRoots stands for AWS's library of trusted CAs when judging a thumbprint mismatch;
	// nil means the system roots. Tests set it to a fake public CA.
	PublicRoots []*x509.Certificate
	// IssuerRoots are extra CAs trusted to fetch the issuer's discovery document (private
	// issuers); they never make a chain count as publicly trusted.
	IssuerRoots []*x509.Certificate
	// SkipThumbprint leaves out IRSA022, which reads the live issuer's TLS chain: `lint
	// --aws-state` checks against a state file that holds no chain, usually where the issuer is
	// unreachable.
	SkipThumbprint bool
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.TTL, 10*time.Minute)
	def(&o.NegativeTTL, 30*time.Second)
	def(&o.StaleFor, time.Hour)
	def(&o.LookupTimeout, 2*time.Second)
	def(&o.MaxBackoff, 200*time.Millisecond)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 2
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 5
	}
	if o.Burst <= 0 {
		o.Burst = 20
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}

// Verifier runs every AWS-backed check (IRSA010-035) for one identity. It is safe for
// concurrent use; one Verifier per process shares its caches and rate limit.
type Verifier struct {
	cfg        aws.Config
	opts       Options
	metrics    *metrics
	iam        *iam.Client
	iamOptions func(*iam.Options)
	stsOptions func(*sts.Options)
	chains     *chainFetcher

	roles     *cache[validators.RoleFacts]
	providers *cache[validators.ProviderFacts]
	thumbs    *cache[validators.ChainFacts]
	self      *cache[string]

	mu      sync.Mutex
	readers map[string]*iam.Client // per account, built on first use
}

// NewVerifier builds a Verifier on cfg (normally config.LoadDefaultConfig, so the default
// credential chain and the AWS_ENDPOINT_URL_IAM / _STS overrides apply).
func NewVerifier(cfg aws.Config, opts Options) (*Verifier, error) {
	opts.defaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register AWS metrics: %w", err)
	}
	limiter := rate.NewLimiter(opts.RateLimit, opts.Burst)
	// A bounded retryer: the SDK default (3 attempts, up to 20s backoff) could outlive an
	// admission request on its own.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = opts.MaxAttempts
			o.MaxBackoff = opts.MaxBackoff
		})
	}
	v := &Verifier{
		cfg: cfg, opts: opts, metrics: m, readers: map[string]*iam.Client{},
		chains: newChainFetcher(opts.PublicRoots, opts.IssuerRoots),
		iamOptions: func(o *iam.Options) {
			o.Retryer = retryer()
			o.APIOptions = append(o.APIOptions, rateLimitMiddleware(limiter))
		},
		stsOptions: func(o *sts.Options) { o.Retryer = retryer() },
	}
	v.iam = iam.NewFromConfig(cfg, v.iamOptions)
	cc := cacheConfig{ttl: opts.TTL, negativeTTL: opts.NegativeTTL, staleFor: opts.StaleFor, fetchTimeout: opts.LookupTimeout}
	v.roles = newCache[validators.RoleFacts]("role", cc, opts.Clock, m)
	v.providers = newCache[validators.ProviderFacts]("oidc-provider", cc, opts.Clock, m)
	v.thumbs = newCache[validators.ChainFacts]("thumbprint", cc, opts.Clock, m)
	v.self = newCache[string]("account", cc, opts.Clock, m)
	return v, nil
}
