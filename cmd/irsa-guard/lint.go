package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/manifest"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// lintOptions are the flags of `irsa-guard lint` that are not cluster configuration.
type lintOptions struct {
	files       []string
	output      string
	offline     bool
	trustPolicy string
	awsState    string
	issuerCA    string
	timeout     time.Duration
	iac         []string
	iacParams   []string
}

func newLintCommand() *cobra.Command {
	var opts lintOptions
	cfg := config.Default()
	var flags *config.Flags
	cmd := &cobra.Command{
		Use:   "lint {-f FILE|DIR|- | FILE...} [-o text|json|sarif|github] [--offline | --trust-policy FILE | --aws-state FILE] [--iac FILE [--iac-param KEY=VALUE]] [--issuer URL | --cluster NAME] [--config FILE]",
		Short: "Check IRSA settings in Kubernetes manifests before they are applied",
		Long: `lint reads ServiceAccounts, Pods and the pod templates of Deployments, StatefulSets,
DaemonSets, ReplicaSets, Jobs and CronJobs from multi-document YAML or JSON manifests and asks
the same review engine as the admission webhook. Without AWS it runs the role ARN's grammar
(IRSA001), mistyped or misplaced eks.amazonaws.com annotations (IRSA002), their values (IRSA003)
and the pod checks (IRSA040-045) on each pod as pod-identity-webhook will inject it. With
--trust-policy and --issuer it also evaluates that trust policy for every ServiceAccount with a
role-arn (IRSA030-036). Without --offline and --trust-policy, --issuer or --cluster runs the AWS
checks (IRSA010-035) against AWS with your default credentials, or against --aws-state FILE (see
'irsa-guard aws-state export') at file speed.

--iac FILE reads the IAM roles and OIDC providers a CloudFormation template (from cdk synth or
written by hand) or a Terraform plan (terraform show -json PLAN) is about to create, and uses
them as facts, alone (with --offline) or over --aws-state or AWS: the IaC wins for what it
defines. It also reports a role whose trust names a ServiceAccount the manifests lack, next to
one they have that is one edit away (IRSA080). Values known only at deploy are "could not
verify" (IRSA090), never errors.

-o sarif writes SARIF 2.1.0 for code scanning, -o github GitHub Actions annotations.

--config reads the same configuration file the Helm chart renders (audience, cluster name,
pod-identity-webhook settings, modes); every setting is also a flag, and flags win.

Exit status: 0 no error findings, 1 at least one error finding, 2 unreadable input or bad flags.`,
		Example: `  irsa-guard lint -f examples/ --offline
  helm template my-app ./chart | irsa-guard lint -f - -o json
  irsa-guard lint -f sa.yaml --trust-policy trust.json --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
  irsa-guard lint -f k8s/ --aws-state prod-aws.yaml --cluster prod --config values-config.yaml
  helm template ca autoscaler/cluster-autoscaler -n kube-system | irsa-guard lint -f - --offline \
    --iac cdk.out/Cluster.template.json --account 111122223333 --partition aws --issuer https://oidc.eks...
  irsa-guard lint -f k8s/ --iac plan.json --aws-state prod-aws.yaml --issuer https://oidc.eks... -o sarif > irsa.sarif`,
		// File names after the flags are more -f: how pre-commit passes the files it checks.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flags.Load(); err != nil {
				return usageErrorf("%v", err)
			}
			opts.files = append(opts.files, args...)
			return runLint(cmd.Context(), cmd, opts, cfg)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.files, "filename", "f", nil, "manifest file, directory (all *.yaml, *.yml, *.json below it) or - for stdin; repeatable")
	f.StringVarP(&opts.output, "output", "o", "text", "output format: text, json, sarif (SARIF 2.1.0, for code scanning) or github (workflow annotations)")
	f.BoolVar(&opts.offline, "offline", false, "run only the checks that need no AWS access")
	f.StringVar(&opts.trustPolicy, "trust-policy", "", "IAM trust policy JSON of the roles the ServiceAccounts name (needs --issuer)")
	f.StringVar(&opts.awsState, "aws-state", "", "check against this AWS state file (irsa-guard aws-state export) instead of AWS")
	f.StringVar(&opts.issuerCA, "issuer-ca", "", "PEM file of extra CAs to trust when reading a private issuer's discovery document")
	f.StringArrayVar(&opts.iac, "iac", nil, "IAM roles and OIDC providers about to be created: a CloudFormation template (JSON or YAML, e.g. cdk.out/STACK.template.json) or a Terraform plan (terraform show -json PLAN); repeatable. They win over --aws-state or AWS for what they define")
	f.StringArrayVar(&opts.iacParams, "iac-param", nil, "KEY=VALUE: a CloudFormation parameter of the --iac templates (AWS::AccountId, AWS::Partition and AWS::Region come from --account, --partition and --region); repeatable")
	f.DurationVar(&opts.timeout, "aws-timeout", 10*time.Second, "time budget of the AWS lookups for one object")
	flags = config.Bind(f, cfg, config.SectionCluster, config.SectionAWS, config.SectionPolicy)
	return cmd
}

func runLint(ctx context.Context, cmd *cobra.Command, opts lintOptions, cfg *config.Configuration) error {
	if len(opts.files) == 0 {
		return usageErrorf("lint needs -f FILE|DIR|- (the manifests to check)")
	}
	write, ok := lintWriters[opts.output]
	if !ok {
		return usageErrorf("-o %q: use text, json, sarif or github", opts.output)
	}
	var objs []manifest.Object
	for _, path := range opts.files {
		o, err := manifest.ReadPath(path, cmd.InOrStdin())
		if err != nil {
			return usageErrorf("read manifests: %v", err)
		}
		objs = append(objs, o...)
	}
	facts, issuer, notes, err := lintSources(ctx, opts, cfg)
	if err != nil {
		return err
	}
	var serviceAccounts []*corev1.ServiceAccount
	for _, o := range objs {
		if o.ServiceAccount != nil {
			serviceAccounts = append(serviceAccounts, o.ServiceAccount)
		}
	}
	engine := review.New(cfg, review.Options{Facts: facts, Cluster: kubefacts.NewManifests(serviceAccounts), Issuer: issuer})
	results := lintAll(ctx, engine, cfg.Policy, objs, opts.timeout)
	if len(notes) > 0 {
		policy := manifest.Object{Source: opts.trustPolicy, Line: 1, Kind: "TrustPolicy", Name: opts.trustPolicy}
		results = append([]objectResult{{object: policy, findings: notes}}, results...)
	}
	if err := write(cmd.OutOrStdout(), results); err != nil {
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

// lintWriters are lint's output formats by -o value.
var lintWriters = map[string]func(io.Writer, []objectResult) error{
	"text": writeText, "json": writeJSON, "sarif": writeSARIF, "github": writeGitHub,
}

// objectResult is one object's findings, in input order, for the output writers.
type objectResult struct {
	object   manifest.Object
	findings []validators.Finding
}

// lintAll reviews every object at the manifest stage. Objects labelled irsa-guard.io/skip and
// findings the policy turns off are left out, as the webhook leaves them out. A pod's review includes its ServiceAccount's findings; where
// that ServiceAccount is in the input too, they are reported once, on it.
func lintAll(ctx context.Context, engine *review.Engine, policy config.Policy, objs []manifest.Object, timeout time.Duration) []objectResult {
	inInput := map[validators.Object]bool{}
	for _, o := range objs {
		if o.ServiceAccount != nil {
			inInput[validators.ServiceAccountObject(o.ServiceAccount)] = true
		}
	}
	results := make([]objectResult, 0, len(objs))
	for _, o := range objs {
		if skipped(o) {
			results = append(results, objectResult{object: o})
			continue
		}
		s := review.Subject{Stage: review.StageManifest, ServiceAccount: o.ServiceAccount, Pod: o.Pod}
		if o.Pod != nil && o.Kind != "Pod" {
			s.Object = o.Ref() // name the workload the user edits, not the pod its controller makes
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		found := engine.Review(rctx, s)
		cancel()
		mode := policy.NamespaceMode(o.Namespace)
		r := objectResult{object: o}
		for _, f := range found {
			if policy.CheckMode(mode, f.Check) == config.ModeOff {
				continue
			}
			if o.Pod != nil && f.Object.Kind == "ServiceAccount" && inInput[f.Object.WithField("")] {
				continue
			}
			r.findings = append(r.findings, f)
		}
		results = append(results, r)
	}
	return results
}

// skipped reports whether the object opts out with the label the webhook honours: on a
// ServiceAccount, or on a pod (template), whose labels the pod the webhook sees carries.
func skipped(o manifest.Object) bool {
	switch {
	case o.ServiceAccount != nil:
		return o.ServiceAccount.Labels[config.LabelSkip] == "true"
	case o.Pod != nil:
		return o.Pod.Labels[config.LabelSkip] == "true"
	}
	return false
}

// sourceOf renders where an object is for output: "examples/sa.yaml:12".
func sourceOf(o manifest.Object) string {
	s := fmt.Sprintf("%s:%d", o.Source, o.Line)
	if o.Item > 0 {
		s += fmt.Sprintf(" (item %d)", o.Item)
	}
	return s
}
