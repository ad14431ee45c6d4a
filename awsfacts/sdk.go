package awsfacts

import (
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Options tunes a SDK. The zero value gives the defaults documented per field, the
// targets docs/performance.md measures.
type Options struct {
	// Account and Partition are irsa-guard's own AWS account; "" asks sts:GetCallerIdentity once.
	Account, Partition string
	// ClusterRegion is the region of EKS calls (eks:DescribeCluster); "" means the config's.
	ClusterRegion string
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
	// BackgroundShare is the most of RateLimit and Burst that callers marked with Background (the
	// audit) may use; they never take the tokens admissions need. 0 gives them no limit of their own.
	BackgroundShare float64

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
	// SkipThumbprint leaves out the issuer's TLS chain (IRSA022), for runs where the issuer is
	// not reachable from where irsa-guard runs.
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

// SDK is the Source that reads AWS through aws-sdk-go-v2. It is safe for concurrent use; one
// per process shares its caches and its rate limit, which protects the account's IAM quota.
type SDK struct {
	cfg        aws.Config
	opts       Options
	metrics    *metrics
	iam        *iam.Client
	sts        *sts.Client
	eks        *eks.Client
	iamOptions func(*iam.Options)
	stsOptions func(*sts.Options)
	chains     *chainFetcher

	// The caches hold pointers to facts that are never modified once stored: a refresh stores a
	// new pointer, so callers may key memos on them (review's memo of the checks does).
	roles        *cache[*validators.RoleFacts]
	providers    *cache[*validators.ProviderFacts]
	thumbs       *cache[*validators.ChainFacts]
	self         *cache[identity]
	issuers      *cache[string]
	associations *cache[*validators.PodIdentityAssociation]

	mu      sync.Mutex
	readers map[string]*iam.Client // per account, built on first use
}

// NewSDK builds a SDK on cfg (normally config.LoadDefaultConfig, so the default
// credential chain and the AWS_ENDPOINT_URL_IAM / _STS overrides apply).
func NewSDK(cfg aws.Config, opts Options) (*SDK, error) {
	opts.defaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register AWS metrics: %w", err)
	}
	limiter := newPriorityLimiter(opts.RateLimit, opts.Burst, opts.BackgroundShare)
	// A bounded retryer: the SDK default (3 attempts, up to 20s backoff) could outlive an
	// admission request on its own.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = opts.MaxAttempts
			o.MaxBackoff = opts.MaxBackoff
		})
	}
	v := &SDK{
		cfg: cfg, opts: opts, metrics: m, readers: map[string]*iam.Client{},
		chains: newChainFetcher(opts.PublicRoots, opts.IssuerRoots),
		iamOptions: func(o *iam.Options) {
			o.Retryer = retryer()
			o.APIOptions = append(o.APIOptions, rateLimitMiddleware(limiter))
		},
		stsOptions: func(o *sts.Options) {
			o.Retryer = retryer()
			o.APIOptions = append(o.APIOptions, rateLimitMiddleware(limiter))
		},
	}
	v.iam = iam.NewFromConfig(cfg, v.iamOptions)
	v.sts = sts.NewFromConfig(cfg, v.stsOptions)
	v.eks = eks.NewFromConfig(cfg, func(o *eks.Options) {
		o.Retryer = retryer()
		o.APIOptions = append(o.APIOptions, rateLimitMiddleware(limiter))
		if opts.ClusterRegion != "" {
			o.Region = opts.ClusterRegion
		}
	})
	cc := cacheConfig{ttl: opts.TTL, negativeTTL: opts.NegativeTTL, staleFor: opts.StaleFor, fetchTimeout: opts.LookupTimeout}
	v.roles = newCache[*validators.RoleFacts]("role", cc, opts.Clock, m)
	v.providers = newCache[*validators.ProviderFacts]("oidc-provider", cc, opts.Clock, m)
	v.thumbs = newCache[*validators.ChainFacts]("thumbprint", cc, opts.Clock, m)
	v.self = newCache[identity]("account", cc, opts.Clock, m)
	v.issuers = newCache[string]("cluster", cc, opts.Clock, m)
	v.associations = newCache[*validators.PodIdentityAssociation]("pod-identity", cc, opts.Clock, m)
	return v, nil
}
