package validators

import (
	"fmt"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// ActionAssumeRoleWithWebIdentity is the STS action a pod's SDK calls with its projected token.
const ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"

// TrustInput is everything the trust checks need about one ServiceAccount and its role.
type TrustInput struct {
	Policy         *trustpolicy.Policy // the role's trust policy, parsed
	RoleARN        string              // as annotated (full ARN); its account/partition tell cross-account (IRSA035)
	Issuer         string              // cluster OIDC issuer URL, https://...
	Namespace      string
	ServiceAccount string
	Audience       string          // "" means DefaultAudience
	Call           WebIdentityCall // what is known about the pod's STS call; the zero value knows nothing
}

// TrustRequest is what STS sees when this ServiceAccount's token asks for the role: the cluster's
// provider in the role's account, the token's sub and aud, and the call's context. `irsa-guard
// trust explain` builds it from flags; CheckTrust from a ServiceAccount.
type TrustRequest struct {
	ProviderARN string          // arn:<partition>:iam::<role account>:oidc-provider/<issuer host/path>
	Subject     string          // system:serviceaccount:<namespace>:<name>
	Audience    string          // "" means DefaultAudience
	Call        WebIdentityCall // the clock, region and session name of the call
	// Context overrides request keys for a what-if: a key with values is known, a key with an
	// empty list is absent. aws:CurrentTime and aws:EpochTime belong in Call.Now instead.
	Context map[string][]string
}

// TrustReport is a trust policy's evaluation for one request and the IRSA03x findings it implies.
type TrustReport struct {
	Request  trustpolicy.Request
	Result   trustpolicy.Result
	Findings []Finding
}

// CheckTrust predicts whether the role's trust policy lets this ServiceAccount's token assume the
// role, and reports IRSA030-035, IRSA038 and IRSA039. No findings means allowed and scoped to this
// ServiceAccount. The notes of a policy a user wrote (IRSA036-037) come from TrustPolicyNotes: a
// policy IAM stored has passed IAM's own validation.
//
// A role ARN that does not parse, or a nil policy, returns nothing: IRSA001 reports the ARN, and the
// caller reports a policy it could not parse (a stored one as IRSA090, a user's file as bad input).
func CheckTrust(obj Object, in TrustInput) []Finding {
	partition, account, ok := roleAccount(in.RoleARN)
	if !ok || in.Policy == nil {
		return nil
	}
	req := TrustRequest{
		ProviderARN: ProviderARN(partition, account, in.Issuer),
		Subject:     ServiceAccountSubject(in.Namespace, in.ServiceAccount),
		Audience:    in.Audience,
		Call:        in.Call,
	}
	return EvaluateTrust(obj, in.Policy, req).Findings
}

// WebIdentityRequest builds the request STS evaluates for sts:AssumeRoleWithWebIdentity (see
// WebIdentityContext), with r.Context's what-ifs applied.
func WebIdentityRequest(r TrustRequest) trustpolicy.Request {
	req := WebIdentityContext(r.Call, r.ProviderARN, r.Subject, r.Audience)
	for k, v := range r.Context {
		for u := range req.Unknown {
			if strings.EqualFold(u, k) {
				delete(req.Unknown, u)
			}
		}
		for c := range req.Context {
			if strings.EqualFold(c, k) {
				delete(req.Context, c)
			}
		}
		req.Context[k] = v
	}
	return req
}

func (r TrustRequest) audience() string {
	if r.Audience == "" {
		return DefaultAudience
	}
	return r.Audience
}

// EvaluateTrust evaluates policy for r and turns the outcome into findings:
//   - explicit deny: IRSA033 for each Deny that certainly applies;
//   - implicit deny: the closest miss as IRSA030/035 (principal), IRSA031 (action), IRSA032
//     (conditions) or IRSA038 (a time window that is over or has not started);
//   - allow: IRSA034 if other ServiceAccounts would be allowed too, IRSA038 if a time window ends;
//   - undetermined: IRSA039 for each open condition, naming its key and what it depends on (a
//     warning: irsa-guard cannot know), and IRSA034 as for allow.
func EvaluateTrust(obj Object, policy *trustpolicy.Policy, r TrustRequest) TrustReport {
	req := WebIdentityRequest(r)
	rep := TrustReport{Request: req, Result: trustpolicy.Evaluate(policy, req), Findings: []Finding{}}
	d := diagnoser{obj: obj, policy: policy, req: r, httpReq: req, res: rep.Result}
	switch rep.Result.Decision {
	case trustpolicy.DecisionExplicitDeny:
		for _, ref := range rep.Result.Deciding {
			rep.Findings = append(rep.Findings, d.explicitDeny(ref))
		}
		if !d.anyAllowPossible() {
			rep.Findings = append(rep.Findings, d.whyNotAllowed()...)
		}
	case trustpolicy.DecisionImplicitDeny:
		rep.Findings = append(rep.Findings, d.whyNotAllowed()...)
	case trustpolicy.DecisionAllow:
		rep.Findings = append(rep.Findings, d.tooBroad()...)
		rep.Findings = append(rep.Findings, d.windowEnds()...)
	case trustpolicy.DecisionUndetermined:
		rep.Findings = append(rep.Findings, d.openConditions()...)
		rep.Findings = append(rep.Findings, d.tooBroad()...)
	}
	rep.Findings = uniqueFindings(rep.Findings)
	return rep
}

// uniqueFindings drops a finding that repeats an earlier one (same check and message), e.g. two
// identical conditions of one statement.
func uniqueFindings(fs []Finding) []Finding {
	out := fs[:0]
	seen := map[string]bool{}
	for _, f := range fs {
		if k := string(f.Check) + "\x00" + f.Message; !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// diagnoser turns one evaluation into findings that name the human mistake behind it.
type diagnoser struct {
	obj     Object
	policy  *trustpolicy.Policy
	req     TrustRequest
	httpReq trustpolicy.Request // the request as evaluated
	res     trustpolicy.Result
}

func (d diagnoser) statement(i int) trustpolicy.Statement { return d.policy.Statements[i] }

// anyAllowPossible reports whether some Allow statement applies or may apply.
func (d diagnoser) anyAllowPossible() bool {
	for _, s := range d.res.Statements {
		if (s.Matched || s.Undetermined) && s.Effect == trustpolicy.Allow {
			return true
		}
	}
	return false
}

func (d diagnoser) explicitDeny(ref trustpolicy.StatementRef) Finding {
	s := d.statement(ref.Index)
	var why []string
	for _, c := range d.res.Statements[ref.Index].Conditions {
		why = append(why, fmt.Sprintf("%s %q: %s", c.Operator, c.Key, c.Reason))
	}
	if len(why) == 0 {
		why = append(why, "it has no conditions")
	}
	what, host := "token", providerHostPath(d.req.ProviderARN)
	for _, c := range d.res.Statements[ref.Index].Conditions {
		if !strings.HasPrefix(strings.ToLower(c.Key), strings.ToLower(host)+":") {
			what = "call"
		}
	}
	f := NewFinding(CheckTrustExplicitDeny, d.obj, fmt.Sprintf("Deny %s matches this ServiceAccount's %s", s.Name(), what))
	return f.WithFix(fmt.Sprintf("Narrow or remove the Deny %s; an explicit Deny always wins. It matches because %s.", s.Name(), strings.Join(why, "; ")))
}

// whyNotAllowed reports the closest miss: a statement with the right principal and action whose
// conditions fail (IRSA032, IRSA038), else one with the right principal only (IRSA031), else no
// statement trusts this provider (IRSA030, or IRSA035 when it is the right issuer in another account).
func (d diagnoser) whyNotAllowed() []Finding {
	var principalOK, actionOK []trustpolicy.StatementResult
	for _, s := range d.res.Statements {
		if s.Effect != trustpolicy.Allow || !s.Principal.Matched {
			continue
		}
		principalOK = append(principalOK, s)
		if s.Action.Matched {
			actionOK = append(actionOK, s)
		}
	}
	switch {
	case len(actionOK) > 0:
		return d.conditionFindings(closest(actionOK))
	case len(principalOK) > 0:
		s := d.statement(principalOK[0].Index)
		acts := s.Action
		if acts == nil {
			acts = s.NotAction
		}
		f := NewFinding(CheckTrustAction, d.obj, fmt.Sprintf("%s allows %s, not %s", s.Name(), strings.Join(acts, ", "), ActionAssumeRoleWithWebIdentity))
		return []Finding{f.WithFix(fmt.Sprintf(`In %s set "Action": %q (an OIDC provider principal can only use it).`, s.Name(), ActionAssumeRoleWithWebIdentity))}
	default:
		return []Finding{d.providerFinding()}
	}
}

// closest picks the statement with the fewest certainly failing conditions (the first on a tie).
func closest(stmts []trustpolicy.StatementResult) trustpolicy.StatementResult {
	best, bestFailed := stmts[0], -1
	for _, s := range stmts {
		failed := 0
		for _, c := range s.Conditions {
			if !c.Matched && !c.Undetermined {
				failed++
			}
		}
		if bestFailed < 0 || failed < bestFailed {
			best, bestFailed = s, failed
		}
	}
	return best
}

// maxConditionFindings caps condition findings per policy: the webhook shows at most 5 warnings.
const maxConditionFindings = 3

// conditionFindings explains each certainly failing condition of an otherwise matching statement.
func (d diagnoser) conditionFindings(sr trustpolicy.StatementResult) []Finding {
	var out []Finding
	for _, c := range sr.Conditions {
		if c.Matched || c.Undetermined {
			continue
		}
		if len(out) == maxConditionFindings {
			break
		}
		out = append(out, d.diagnoseCondition(sr, c))
	}
	return out
}

// roleAccount returns the partition and account of an IAM role ARN.
func roleAccount(roleARN string) (partition, account string, ok bool) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[4] == "" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", false
	}
	return parts[1], parts[4], true
}

// providerARN is an OIDC provider ARN split into its parts.
type providerARN struct {
	partition, account, hostPath string
}

// parseProviderARN splits arn:<partition>:iam::<account>:oidc-provider/<host/path>.
func parseProviderARN(s string) (providerARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" {
		return providerARN{}, false
	}
	host, ok := strings.CutPrefix(parts[5], "oidc-provider/")
	if !ok || host == "" {
		return providerARN{}, false
	}
	return providerARN{partition: parts[1], account: parts[4], hostPath: host}, true
}

// ParseProviderARN checks that s is an IAM OIDC provider ARN and returns the issuer host/path
// its condition keys start with. The error says what is wrong and shows the expected form.
func ParseProviderARN(s string) (hostPath string, err error) {
	p, ok := parseProviderARN(s)
	if !ok || p.partition == "" || len(p.account) != 12 || strings.Trim(p.account, "0123456789") != "" {
		return "", fmt.Errorf("%s is not an IAM OIDC provider ARN; expected arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer without https://>, e.g. arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", Quote(s, 300))
	}
	if strings.HasPrefix(p.hostPath, "https://") {
		return "", fmt.Errorf("provider ARN %s must not contain https://; use %s", Quote(s, 300), strings.Replace(s, "oidc-provider/https://", "oidc-provider/", 1))
	}
	return p.hostPath, nil
}

func providerHostPath(arn string) string {
	p, _ := parseProviderARN(arn)
	return p.hostPath
}
