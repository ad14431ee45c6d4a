package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/manifest"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// lintOptions are the flags of `irsa-guard lint`.
type lintOptions struct {
	files       []string
	output      string
	offline     bool
	trustPolicy string
	issuer      string
	live        liveLintOptions // the AWS-backed checks, lint_aws.go
}

func newLintCommand() *cobra.Command {
	var opts lintOptions
	cmd := &cobra.Command{
		Use:   "lint -f FILE|DIR|- [-o text|json] [--offline] [--trust-policy FILE --issuer URL]",
		Short: "Check IRSA settings in Kubernetes manifests before they are applied",
		Long: `lint reads ServiceAccounts, Pods and the pod templates of Deployments, StatefulSets,
DaemonSets, ReplicaSets, Jobs and CronJobs from multi-document YAML or JSON manifests and runs
every check that needs no AWS access: the role ARN's grammar (IRSA001), mistyped or misplaced
eks.amazonaws.com annotations (IRSA002), their values (IRSA003) and the pod checks that apply
before admission (IRSA041-045). With --trust-policy and --issuer it also evaluates the role's
trust policy for every ServiceAccount with a role-arn (IRSA030-035). Without --offline and
--trust-policy, --issuer or --cluster runs the AWS checks (IRSA010-035) for every ServiceAccount
with a role-arn, against AWS with your default credentials or against --aws-state FILE (see
'irsa-guard aws-state export').

Exit status: 0 no error findings, 1 at least one error finding, 2 unreadable input or bad flags.`,
		Example: `  irsa-guard lint -f examples/ --offline
  helm template my-app ./chart | irsa-guard lint -f - -o json
  irsa-guard lint -f sa.yaml --trust-policy trust.json --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLint(cmd.Context(), cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.files, "filename", "f", nil, "manifest file, directory (all *.yaml, *.yml, *.json below it) or - for stdin; repeatable")
	f.StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&opts.offline, "offline", false, "run only the checks that need no AWS access")
	f.StringVar(&opts.trustPolicy, "trust-policy", "", "IAM trust policy JSON of the roles the ServiceAccounts name (needs --issuer)")
	addLiveLintFlags(f, &opts.live)
	f.StringVar(&opts.issuer, "issuer", "", "the cluster's OIDC issuer URL, e.g. https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E")
	return cmd
}

func runLint(ctx context.Context, cmd *cobra.Command, opts lintOptions) error {
	if len(opts.files) == 0 {
		return usageErrorf("lint needs -f FILE|DIR|- (the manifests to check)")
	}
	if opts.output != "text" && opts.output != "json" {
		return usageErrorf("-o %q: use text or json", opts.output)
	}
	checks, err := offlineChecks(opts)
	if err != nil {
		return err
	}
	live, stop, err := liveChecks(ctx, opts)
	if err != nil {
		return err
	}
	defer stop()
	checks = append(checks, live...)
	var objs []manifest.Object
	for _, path := range opts.files {
		o, err := manifest.ReadPath(path, cmd.InOrStdin())
		if err != nil {
			return usageErrorf("read manifests: %v", err)
		}
		objs = append(objs, o...)
	}
	results := collectFindings(ctx, newLintSet(objs), checks)
	if opts.output == "json" {
		err = writeJSON(cmd.OutOrStdout(), results)
	} else {
		err = writeText(cmd.OutOrStdout(), results)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		for _, f := range r.findings {
			if f.Severity == validators.SeverityError {
				return errFindings
			}
		}
	}
	return nil
}

// lintSet is the parsed input every check sees: the objects and their ServiceAccounts by
// "namespace/name", so a workload's checks can use the ServiceAccount it runs as.
type lintSet struct {
	objects         []manifest.Object
	serviceAccounts map[string]*corev1.ServiceAccount
}

func newLintSet(objs []manifest.Object) *lintSet {
	s := &lintSet{objects: objs, serviceAccounts: map[string]*corev1.ServiceAccount{}}
	for _, o := range objs {
		if o.ServiceAccount != nil {
			s.serviceAccounts[o.Namespace+"/"+o.Name] = o.ServiceAccount
		}
	}
	return s
}

// serviceAccountOf returns the ServiceAccount a pod (template) runs as, nil when the input does
// not hold it.
func (s *lintSet) serviceAccountOf(o manifest.Object) *corev1.ServiceAccount {
	if o.Pod == nil {
		return nil
	}
	return s.serviceAccounts[o.Namespace+"/"+o.ServiceAccountName()]
}

// objectCheck produces the findings of one group of checks for one object. lint runs a list
// of them; the live AWS checks (when not --offline) are one more objectCheck.
type objectCheck func(ctx context.Context, set *lintSet, o manifest.Object) []validators.Finding

// objectResult is one object's findings, in input order, for the output writers.
type objectResult struct {
	object   manifest.Object
	findings []validators.Finding
}

func collectFindings(ctx context.Context, set *lintSet, checks []objectCheck) []objectResult {
	results := make([]objectResult, 0, len(set.objects))
	for _, o := range set.objects {
		r := objectResult{object: o}
		for _, check := range checks {
			r.findings = append(r.findings, check(ctx, set, o)...)
		}
		results = append(results, r)
	}
	return results
}

// offlineChecks returns the checks that need no AWS: IRSA001-003 always, the pre-admission pod
// checks, and IRSA030-035 when a trust policy and issuer are given.
func offlineChecks(opts lintOptions) ([]objectCheck, error) {
	checks := []objectCheck{annotationChecks, podChecks}
	if opts.trustPolicy == "" && opts.issuer == "" {
		return checks, nil
	}
	if opts.issuer != "" {
		if err := validators.ValidateIssuer(opts.issuer); err != nil {
			return nil, usageErrorf("--issuer: %v", err)
		}
	}
	if opts.trustPolicy == "" {
		return checks, nil
	}
	if opts.issuer == "" {
		return nil, usageErrorf("--trust-policy needs --issuer: the cluster's OIDC issuer URL (aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer)")
	}
	data, err := os.ReadFile(opts.trustPolicy)
	if err != nil {
		return nil, usageErrorf("--trust-policy: %v", err)
	}
	policy, err := trustpolicy.Parse(data)
	if err != nil {
		return nil, usageErrorf("--trust-policy %s: %v", opts.trustPolicy, err)
	}
	return append(checks, trustCheck(policy, opts.issuer)), nil
}

func annotationChecks(_ context.Context, _ *lintSet, o manifest.Object) []validators.Finding {
	switch {
	case o.ServiceAccount != nil:
		return validators.CheckServiceAccount(o.ServiceAccount)
	case o.Pod != nil:
		return validators.CheckPodAnnotations(o.Ref(), o.Pod.Annotations, &o.Pod.Spec)
	}
	return nil
}

// podChecks runs IRSA041-045 on a pod or pod template with its ServiceAccount when the input
// holds it. IRSA040 ("not injected") is left out: manifests are checked before the pod identity
// webhook mutates them, so nothing is injected yet by design.
func podChecks(_ context.Context, set *lintSet, o manifest.Object) []validators.Finding {
	if o.Pod == nil {
		return nil
	}
	podName := validators.PodObject(o.Pod).String()
	var out []validators.Finding
	for _, f := range validators.CheckPod(o.Pod, set.serviceAccountOf(o)) {
		if f.Check == validators.CheckPodNotInjected {
			continue
		}
		if o.Kind != "Pod" {
			// Name the workload the user edits, not the pod its controller will create.
			f.Object = o.Ref().String() + strings.TrimPrefix(f.Object, podName)
		}
		out = append(out, f)
	}
	return out
}

// trustCheck evaluates one trust policy for every ServiceAccount with a valid role-arn.
func trustCheck(policy *trustpolicy.Policy, issuer string) objectCheck {
	return func(_ context.Context, _ *lintSet, o manifest.Object) []validators.Finding {
		if o.ServiceAccount == nil {
			return nil
		}
		id, ok := validators.IdentityOf(o.Ref(), o.ServiceAccount, issuer)
		if !ok {
			return nil
		}
		if _, err := validators.ParseRoleARN(id.RoleARN); err != nil {
			return nil // IRSA001 reports it
		}
		return validators.CheckTrust(id.Object, id.TrustInput(policy))
	}
}

// sourceOf renders where an object is for output: "examples/sa.yaml:12".
func sourceOf(o manifest.Object) string {
	s := fmt.Sprintf("%s:%d", o.Source, o.Line)
	if o.Item > 0 {
		s += fmt.Sprintf(" (item %d)", o.Item)
	}
	return s
}
