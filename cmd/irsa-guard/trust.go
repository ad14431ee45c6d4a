package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// trustExplainOptions are the flags of `irsa-guard trust explain`; scripts depend on their names.
type trustExplainOptions struct {
	policyFile     string
	providerARN    string
	subject        string
	namespace      string
	serviceAccount string
	audience       string
	output         string
	at             string   // --at: the time of the check, RFC 3339; "" means now
	region         string   // --region: the pod's AWS_REGION
	stsEndpoints   string   // --sts-regional-endpoints: regional, legacy or "" (unset)
	sessionName    string   // --session-name: the pod's AWS_ROLE_SESSION_NAME
	context        []string // --context KEY=VALUE, repeatable
}

func newTrustCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Work with IAM role trust policies",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newTrustExplainCommand())
	return cmd
}

func newTrustExplainCommand() *cobra.Command {
	var o trustExplainOptions
	cmd := &cobra.Command{
		Use:   "explain --policy FILE --provider-arn ARN (--sub SUB | --namespace NS --service-account NAME)",
		Short: "Explain whether a trust policy lets a ServiceAccount's token assume the role",
		Long: `explain evaluates a role trust policy for sts:AssumeRoleWithWebIdentity the way IAM does and
prints the decision, every statement's verdict with its reasons, and the IRSA03x findings.

The request has the token's claims and the keys STS puts in this call's context. Some are known
before the call (the time, aws:SecureTransport, the Region with --region and
--sts-regional-endpoints regional), some only when the pod calls STS (aws:SourceIp,
aws:UserAgent, ...): a decision that hangs on those is "undetermined". --context sets any key for
a what-if. docs/trust-explain.md describes the model.

Exit status: 0 allowed, 1 denied (or IAM rejects the policy), 3 undetermined, 2 bad input.`,
		Example: `  irsa-guard trust explain --policy trust.json \
    --provider-arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E \
    --namespace prod --service-account my-app -o json

  # what if the pod calls from 10.1.2.3 on 2027-02-01, through STS in eu-west-1?
  irsa-guard trust explain --policy trust.json --provider-arn ARN --sub system:serviceaccount:prod:my-app \
    --context aws:SourceIp=10.1.2.3 --at 2027-02-01T00:00:00Z --region eu-west-1 --sts-regional-endpoints regional`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrustExplain(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policyFile, "policy", "", "trust policy JSON file (- for stdin)")
	f.StringVar(&o.providerARN, "provider-arn", "", "the cluster's IAM OIDC provider ARN in the role's account")
	f.StringVar(&o.subject, "sub", "", "token subject, e.g. system:serviceaccount:prod:my-app")
	f.StringVar(&o.namespace, "namespace", "", "ServiceAccount namespace (with --service-account)")
	f.StringVar(&o.serviceAccount, "service-account", "", "ServiceAccount name (with --namespace)")
	f.StringVar(&o.audience, "audience", validators.DefaultAudience, "token audience")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.at, "at", "", "time of the check, RFC 3339 (aws:CurrentTime, aws:EpochTime); default now")
	f.StringVar(&o.region, "region", "", "the pod's AWS_REGION (aws:RequestedRegion with regional STS endpoints)")
	f.StringVar(&o.stsEndpoints, "sts-regional-endpoints", "", "the pod's AWS_STS_REGIONAL_ENDPOINTS: regional or legacy; unset if empty")
	f.StringVar(&o.sessionName, "session-name", "", "the pod's AWS_ROLE_SESSION_NAME (sts:RoleSessionName); the SDK picks one if empty")
	f.StringArrayVar(&o.context, "context", nil, "KEY=VALUE sets a request context key for a what-if (repeat for more values or keys; KEY= makes it absent)")
	return cmd
}

// trustExplanation is the -o json contract: decision, decidingStatements, statements, findings and
// request are relied on by scripts; fields are only ever added.
type trustExplanation struct {
	trustpolicy.Result
	Findings []validators.Finding `json:"findings"`
	Request  explainedRequest     `json:"request"`
	Notes    []string             `json:"notes,omitempty"`
}

type explainedRequest struct {
	Action    string                         `json:"action"`
	Principal string                         `json:"principal"`
	Context   map[string][]string            `json:"context"`
	Unknown   map[string]trustpolicy.Unknown `json:"unknown,omitempty"` // keys known only at call time
}

// errUndetermined means the command ran and the outcome depends on the call (exit 3).
var errUndetermined = &exitError{code: 3, err: errors.New("")}

func runTrustExplain(stdin io.Reader, out io.Writer, o trustExplainOptions) error {
	obj, req, err := o.validate(time.Now())
	if err != nil {
		return err
	}
	data, err := readPolicyFile(stdin, o.policyFile)
	if err != nil {
		return usageErrorf("read --policy %s: %w", o.policyFile, err)
	}
	policy, err := trustpolicy.Parse(data)
	if err != nil {
		return usageErrorf("--policy %s is not a valid IAM policy: %w", o.policyFile, err)
	}
	rep := validators.EvaluateTrust(obj, policy, req)
	name := o.policyFile
	if name == "-" {
		name = "stdin"
	}
	notes := validators.TrustPolicyNotes(validators.Object{Kind: "TrustPolicy", Name: name}, policy)
	exp := trustExplanation{Result: rep.Result, Findings: append(notes, rep.Findings...),
		Request: explainedRequest{Action: rep.Request.Action, Principal: rep.Request.Principal, Context: rep.Request.Context, Unknown: rep.Request.Unknown}}
	for _, n := range policy.Notes {
		exp.Notes = append(exp.Notes, n.String())
	}
	if o.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(exp)
	} else {
		err = writeTrustText(out, policy, exp)
	}
	if err != nil {
		return err
	}
	rejected := slices.ContainsFunc(notes, func(f validators.Finding) bool { return f.Check == validators.CheckTrustRejected })
	switch {
	case rep.Result.Decision == trustpolicy.DecisionAllow && !rejected:
		return nil
	case rep.Result.Decision == trustpolicy.DecisionUndetermined && !rejected:
		return errUndetermined
	}
	return errFindings
}

// validate checks the flag combination and builds the request; every error names the flag.
func (o trustExplainOptions) validate(now time.Time) (validators.Object, validators.TrustRequest, error) {
	var obj validators.Object
	req := validators.TrustRequest{ProviderARN: o.providerARN, Subject: o.subject, Audience: o.audience}
	switch {
	case o.output != "text" && o.output != "json":
		return obj, req, usageErrorf("-o %q: use text or json", o.output)
	case o.policyFile == "":
		return obj, req, usageErrorf("--policy FILE is required")
	case o.providerARN == "":
		return obj, req, usageErrorf("--provider-arn is required, e.g. arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E")
	case o.subject != "" && (o.namespace != "" || o.serviceAccount != ""):
		return obj, req, usageErrorf("give either --sub or --namespace with --service-account, not both")
	case o.subject == "" && (o.namespace == "" || o.serviceAccount == ""):
		return obj, req, usageErrorf("give --sub SUB, or both --namespace NS and --service-account NAME")
	case o.audience == "":
		return obj, req, usageErrorf("--audience must not be empty (the default is %s)", validators.DefaultAudience)
	case o.stsEndpoints != "" && o.stsEndpoints != validators.STSEndpointsRegional && o.stsEndpoints != validators.STSEndpointsLegacy:
		return obj, req, usageErrorf("--sts-regional-endpoints %q: use regional or legacy (leave it out when the pod does not set AWS_STS_REGIONAL_ENDPOINTS)", o.stsEndpoints)
	}
	if _, err := validators.ParseProviderARN(o.providerARN); err != nil {
		return obj, req, usageErrorf("--provider-arn: %w", err)
	}
	call, ctx, err := o.call(now)
	if err != nil {
		return obj, req, err
	}
	req.Call, req.Context = call, ctx
	if o.subject == "" {
		req.Subject = validators.ServiceAccountSubject(o.namespace, o.serviceAccount)
	}
	obj = validators.Object{Kind: "Subject", Name: req.Subject}
	if rest, ok := strings.CutPrefix(req.Subject, "system:serviceaccount:"); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			obj = validators.Object{Kind: "ServiceAccount", Namespace: ns, Name: name}
		}
	}
	return obj, req, nil
}

// call builds the STS call from --at, --region, --sts-regional-endpoints, --session-name and
// --context. The clock keys in --context set the time of the check, so that aws:CurrentTime and
// aws:EpochTime always agree; every other key becomes a known value (or absent with KEY=).
func (o trustExplainOptions) call(now time.Time) (validators.WebIdentityCall, map[string][]string, error) {
	call := validators.WebIdentityCall{Now: now.UTC().Truncate(time.Second), Region: o.region,
		STSRegionalEndpoints: o.stsEndpoints, SessionName: o.sessionName}
	clockFrom := ""
	if o.at != "" {
		t, err := parseTime(o.at)
		if err != nil {
			return call, nil, usageErrorf("--at %q: %v", o.at, err)
		}
		call.Now, clockFrom = t, "--at"
	}
	ctx := map[string][]string{}
	for _, kv := range o.context {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return call, nil, usageErrorf("--context %q: use KEY=VALUE, e.g. aws:SourceIp=10.1.2.3 (KEY= makes the key absent)", kv)
		}
		switch {
		case strings.EqualFold(key, "aws:CurrentTime") || strings.EqualFold(key, "aws:EpochTime"):
			if clockFrom != "" {
				return call, nil, usageErrorf("--context %s: the time of the check is already set by %s; give it once", key, clockFrom)
			}
			t, err := parseTime(value)
			if err != nil {
				return call, nil, usageErrorf("--context %s: %v", kv, err)
			}
			call.Now, clockFrom = t, "--context "+key
		case value == "":
			ctx[key] = []string{}
		default:
			ctx[key] = append(ctx[key], value)
		}
	}
	return call, ctx, nil
}

// parseTime reads RFC 3339, a date, or epoch seconds.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		return time.Unix(secs, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: use RFC 3339 (2027-02-01T00:00:00Z), a date (2027-02-01) or epoch seconds")
}

// maxPolicyBytes is far above IAM's trust policy size quota; it only stops a wrong file (an
// image, a log) from being read whole.
const maxPolicyBytes = 1 << 20

// errPolicyTooLarge is readPolicyFile's answer for a file over maxPolicyBytes.
var errPolicyTooLarge = errors.New("larger than 1 MiB; a trust policy is a few KiB at most")

// readPolicyFile reads a policy file, or stdin for "-", and refuses one larger than 1 MiB instead
// of cutting it (a cut document would fail to parse with a misleading "ends too early").
// `lint --trust-policy` should read its file with it too.
func readPolicyFile(stdin io.Reader, name string) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPolicyBytes {
		return nil, errPolicyTooLarge
	}
	return data, nil
}
