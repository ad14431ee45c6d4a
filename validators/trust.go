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
	Audience       string // "" means DefaultAudience
}

// TrustRequest is what STS sees when this ServiceAccount's token asks for the role: the cluster's
// provider in the role's account, the token's sub and aud. `irsa-guard trust explain` builds it
// from flags; CheckTrust from a ServiceAccount.
type TrustRequest struct {
	ProviderARN string // arn:<partition>:iam::<role account>:oidc-provider/<issuer host/path>
	Subject     string // system:serviceaccount:<namespace>:<name>
	Audience    string // "" means DefaultAudience
}

// TrustReport is a trust policy's evaluation for one request and the IRSA03x findings it implies.
type TrustReport struct {
	Request  trustpolicy.Request
	Result   trustpolicy.Result
	Findings []Finding
}

// CheckTrust predicts whether the role's trust policy lets this ServiceAccount's token assume the
// role, and reports IRSA030-035. No findings means allowed and scoped to this ServiceAccount.
//
// A role ARN that does not parse, or a nil policy, returns nothing: IRSA001 reports the ARN, and the
// caller reports a policy it could not parse (a stored one as IRSA090, a user's file as bad input).
func CheckTrust(obj Object, in TrustInput) []Finding {
	partition, account, ok := roleAccount(in.RoleARN)
	if !ok || in.Policy == nil {
		return nil
	}
	policy := in.Policy
	req := TrustRequest{
		ProviderARN: ProviderARN(partition, account, in.Issuer),
		Subject:     ServiceAccountSubject(in.Namespace, in.ServiceAccount),
		Audience:    in.Audience,
	}
	return EvaluateTrust(obj, policy, req).Findings
}

// WebIdentityRequest builds the request STS evaluates for sts:AssumeRoleWithWebIdentity: the
// Federated principal and the <issuer host/path>:sub and :aud context keys.
func WebIdentityRequest(r TrustRequest) trustpolicy.Request {
	host := providerHostPath(r.ProviderARN)
	return trustpolicy.Request{
		Action:        ActionAssumeRoleWithWebIdentity,
		PrincipalType: "Federated",
		Principal:     r.ProviderARN,
		Context: map[string][]string{
			host + ":sub": {r.Subject},
			host + ":aud": {r.audience()},
		},
	}
}

func (r TrustRequest) audience() string {
	if r.Audience == "" {
		return DefaultAudience
	}
	return r.Audience
}

// EvaluateTrust evaluates policy for r and turns the outcome into findings: IRSA033 for a matching
// Deny; when no Allow matches, the closest miss as IRSA030/035 (principal), IRSA031 (action) or
// IRSA032 (conditions); when allowed, IRSA034 if other ServiceAccounts would be allowed too.
func EvaluateTrust(obj Object, policy *trustpolicy.Policy, r TrustRequest) TrustReport {
	req := WebIdentityRequest(r)
	rep := TrustReport{Request: req, Result: trustpolicy.Evaluate(policy, req), Findings: []Finding{}}
	d := diagnoser{obj: obj, policy: policy, req: r, res: rep.Result}
	for _, ref := range rep.Result.Deciding {
		if rep.Result.Decision == trustpolicy.DecisionExplicitDeny {
			rep.Findings = append(rep.Findings, d.explicitDeny(ref))
		}
	}
	if !d.anyAllowMatched() {
		rep.Findings = append(rep.Findings, d.whyNotAllowed()...)
	} else if rep.Result.Decision == trustpolicy.DecisionAllow {
		rep.Findings = append(rep.Findings, d.tooBroad()...)
	}
	return rep
}

// diagnoser turns one evaluation into findings that name the human mistake behind it.
type diagnoser struct {
	obj    Object
	policy *trustpolicy.Policy
	req    TrustRequest
	res    trustpolicy.Result
}

func (d diagnoser) statement(i int) trustpolicy.Statement { return d.policy.Statements[i] }

func (d diagnoser) anyAllowMatched() bool {
	for _, s := range d.res.Statements {
		if s.Matched && s.Effect == trustpolicy.Allow {
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
	f := NewFinding(CheckTrustExplicitDeny, d.obj, fmt.Sprintf("Deny %s matches this ServiceAccount's token", s.Name()))
	return f.WithFix(fmt.Sprintf("Narrow or remove the Deny %s; an explicit Deny always wins. It matches because %s.", s.Name(), strings.Join(why, "; ")))
}

// whyNotAllowed reports the closest miss: a statement with the right principal and action whose
// conditions fail (IRSA032), else one with the right principal only (IRSA031), else no statement
// trusts this provider (IRSA030, or IRSA035 when it is the right issuer in another account).
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

// closest picks the statement with the fewest failing conditions (the first on a tie).
func closest(stmts []trustpolicy.StatementResult) trustpolicy.StatementResult {
	best, bestFailed := stmts[0], -1
	for _, s := range stmts {
		failed := 0
		for _, c := range s.Conditions {
			if !c.Matched {
				failed++
			}
		}
		if bestFailed < 0 || failed < bestFailed {
			best, bestFailed = s, failed
		}
	}
	return best
}

// maxConditionFindings caps IRSA032 findings per policy: the webhook shows at most 5 warnings.
const maxConditionFindings = 3

func (d diagnoser) conditionFindings(sr trustpolicy.StatementResult) []Finding {
	s := d.statement(sr.Index)
	var out []Finding
	for _, c := range sr.Conditions {
		if c.Matched {
			continue
		}
		if len(out) == maxConditionFindings {
			break
		}
		msg, fix := d.diagnoseCondition(c)
		f := NewFinding(CheckTrustConditions, d.obj, s.Name()+": "+msg)
		out = append(out, f.WithFix(fix))
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
