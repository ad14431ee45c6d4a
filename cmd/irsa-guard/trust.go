package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

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

Exit status: 0 allowed, 1 denied, 2 bad input.`,
		Example: `  irsa-guard trust explain --policy trust.json \
    --provider-arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E \
    --namespace prod --service-account my-app -o json`,
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
	return cmd
}

// trustExplanation is the -o json contract: decision, decidingStatements, statements and findings
// are relied on by scripts; fields are only ever added.
type trustExplanation struct {
	trustpolicy.Result
	Findings []validators.Finding `json:"findings"`
	Request  explainedRequest     `json:"request"`
	Notes    []string             `json:"notes,omitempty"`
}

type explainedRequest struct {
	Action    string              `json:"action"`
	Principal string              `json:"principal"`
	Context   map[string][]string `json:"context"`
}

func runTrustExplain(stdin io.Reader, out io.Writer, o trustExplainOptions) error {
	obj, req, err := o.validate()
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
	var notes []string
	for _, n := range policy.Notes {
		notes = append(notes, n.String())
	}
	exp := trustExplanation{Result: rep.Result, Findings: rep.Findings, Notes: notes,
		Request: explainedRequest{Action: rep.Request.Action, Principal: rep.Request.Principal, Context: rep.Request.Context}}
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
	if rep.Result.Decision != trustpolicy.DecisionAllow {
		return errFindings
	}
	return nil
}

// validate checks the flag combination and builds the request; every error names the flag.
func (o trustExplainOptions) validate() (validators.Object, validators.TrustRequest, error) {
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
	}
	if _, err := validators.ParseProviderARN(o.providerARN); err != nil {
		return obj, req, usageErrorf("--provider-arn: %w", err)
	}
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

func readPolicyFile(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, maxPolicyBytes))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxPolicyBytes))
}

// maxPolicyBytes is far above IAM's 4096-character trust policy quota; it only stops a wrong file
// (an image, a log) from being read whole.
const maxPolicyBytes = 1 << 20

// writeTrustText prints the explanation for a person: the decision first, then each statement.
func writeTrustText(w io.Writer, p *trustpolicy.Policy, exp trustExplanation) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Decision: %s", exp.Decision)
	switch exp.Decision {
	case trustpolicy.DecisionAllow:
		fmt.Fprintf(&b, " (allowed by %s)\n", statementNames(p, exp.Deciding))
	case trustpolicy.DecisionExplicitDeny:
		fmt.Fprintf(&b, " (denied by %s)\n", statementNames(p, exp.Deciding))
	default:
		b.WriteString(" (no Allow statement matches)\n")
	}
	fmt.Fprintf(&b, "Request: %s by Federated %s\n", exp.Request.Action, exp.Request.Principal)
	for _, k := range sortedKeys(exp.Request.Context) {
		fmt.Fprintf(&b, "  %s = %s\n", k, strings.Join(exp.Request.Context[k], ", "))
	}
	for _, s := range exp.Statements {
		verdict := "does not apply"
		if s.Matched {
			verdict = "applies"
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n", p.Statements[s.Index].Name(), s.Effect, verdict)
		fmt.Fprintf(&b, "  %s principal: %s\n", mark(s.Principal.Matched), s.Principal.Reason)
		fmt.Fprintf(&b, "  %s action:    %s\n", mark(s.Action.Matched), s.Action.Reason)
		for _, c := range s.Conditions {
			fmt.Fprintf(&b, "  %s condition: %s %q: %s\n", mark(c.Matched), c.Operator, c.Key, c.Reason)
		}
	}
	for _, n := range exp.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	if len(exp.Findings) == 0 {
		b.WriteString("\nFindings: none\n")
	} else {
		b.WriteString("\nFindings:\n")
	}
	for _, f := range exp.Findings {
		fmt.Fprintf(&b, "  %s %s: %s\n    fix: %s\n", f.Check, f.Severity, f.Message, f.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mark(ok bool) string {
	if ok {
		return "[match]"
	}
	return "[no]   "
}

func statementNames(p *trustpolicy.Policy, refs []trustpolicy.StatementRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = p.Statements[r.Index].Name()
	}
	return strings.Join(names, ", ")
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
