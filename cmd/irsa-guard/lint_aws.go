package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/pflag"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/manifest"
	"github.com/irsa-guard/irsa-guard/validators"
)

// liveLintOptions are lint's flags for the AWS-backed checks (IRSA010-035).
type liveLintOptions struct {
	awsState string
	cluster  string
	issuerCA string
	timeout  time.Duration
}

func addLiveLintFlags(f *pflag.FlagSet, o *liveLintOptions) {
	f.StringVar(&o.awsState, "aws-state", "", "check against this AWS state file (irsa-guard aws-state export) instead of AWS")
	f.StringVar(&o.cluster, "cluster", "", "EKS cluster name to read the issuer from (eks:DescribeCluster), instead of --issuer")
	f.StringVar(&o.issuerCA, "issuer-ca", "", "PEM file of extra CAs to trust when reading a private issuer's discovery document")
	f.DurationVar(&o.timeout, "aws-timeout", 10*time.Second, "time budget of the AWS lookups for one ServiceAccount")
}

// liveChecks returns the AWS-backed check when lint runs live: not --offline, no
// --trust-policy (that flag checks one given policy instead of each role's), and an issuer from
// --issuer or --cluster. stop releases what it started.
func liveChecks(ctx context.Context, opts lintOptions) (checks []objectCheck, stop func(), err error) {
	stop = func() {}
	l := opts.live
	if opts.offline || opts.trustPolicy != "" || (opts.issuer == "" && l.cluster == "") {
		if l.awsState != "" || l.cluster != "" {
			return nil, stop, usageErrorf("--aws-state and --cluster need --issuer or --cluster, and neither --offline nor --trust-policy")
		}
		return nil, stop, nil
	}
	awsOpts := awsfacts.Options{Clock: time.Now}
	if l.issuerCA != "" {
		if awsOpts.IssuerRoots, err = readCAs(l.issuerCA); err != nil {
			return nil, stop, usageErrorf("--issuer-ca: %v", err)
		}
	}
	var cfg aws.Config
	if l.awsState != "" {
		// The state file is served by fakeaws on loopback and read through the real SDK
		// clients, so offline lint exercises exactly the code path of live lint and the webhook
		// (decoding, classification, caching) instead of a second, in-memory facts source.
		st, err := awsstate.LoadState(l.awsState)
		if err != nil {
			return nil, stop, usageErrorf("--aws-state: %v", err)
		}
		srv, err := fakeaws.Listen("127.0.0.1:0", st)
		if err != nil {
			return nil, stop, fmt.Errorf("serve --aws-state: %w", err)
		}
		stop = srv.Close
		cfg = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(fakeaws.CallerAccessKeyID(st.CallerAccount), fakeaws.CallerSecretAccessKey, "")}
		awsOpts.Account, awsOpts.SkipThumbprint = st.CallerAccount, true
		for _, c := range st.Clusters {
			if c.Name == l.cluster {
				cfg.Region = c.Region // DescribeCluster finds a cluster only in its own region
			}
		}
	} else if cfg, err = loadAWSConfig(ctx); err != nil {
		return nil, stop, err
	}
	issuer, err := resolveIssuer(ctx, cfg, opts.issuer, l.cluster)
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	v, err := awsfacts.NewVerifier(cfg, awsOpts)
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	return []objectCheck{awsCheck(v, issuer, l.timeout)}, stop, nil
}

// awsCheck verifies every ServiceAccount with a valid role-arn against AWS.
func awsCheck(v *awsfacts.Verifier, issuer string, timeout time.Duration) objectCheck {
	return func(ctx context.Context, _ *lintSet, o manifest.Object) []validators.Finding {
		if o.ServiceAccount == nil {
			return nil
		}
		id, ok := validators.IdentityOf(o.Ref(), o.ServiceAccount, issuer)
		if !ok {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return v.Verify(ctx, id)
	}
}

func readCAs(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return certs, nil
}
