package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// fixableTrust are the trust failures a statement added for this ServiceAccount repairs: no
// statement names the provider (IRSA030), the action is wrong (IRSA031), the conditions do not
// fit the token (IRSA032). An explicit Deny (IRSA033) is not repaired by adding an Allow.
var fixableTrust = []validators.CheckID{validators.CheckTrustNoProvider, validators.CheckTrustAction, validators.CheckTrustConditions}

// CorrectedTrust is a corrected trust policy for the identity: the role's policy with the
// statement AWS documents for IRSA appended
// (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html), so the
// statements other ServiceAccounts rely on stay. It is offered only when the evaluator that
// found the failure allows the identity under the corrected policy; otherwise ok is false.
func CorrectedTrust(id validators.Identity, current string) (doc string, command string, ok bool) {
	ref, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		return "", "", false
	}
	provider := validators.ProviderARN(ref.Partition, ref.Account, id.Issuer)
	host := validators.IssuerHostPath(id.Issuer)
	// Fields in the order AWS's documentation writes them; the existing statements verbatim.
	stmt, err := json.Marshal(struct {
		Effect    string                       `json:"Effect"`
		Principal map[string]string            `json:"Principal"`
		Action    string                       `json:"Action"`
		Condition map[string]map[string]string `json:"Condition"`
	}{"Allow", map[string]string{"Federated": provider}, validators.ActionAssumeRoleWithWebIdentity,
		map[string]map[string]string{"StringEquals": {host + ":sub": id.Subject(), host + ":aud": id.EffectiveAudience()}}})
	if err != nil {
		return "", "", false
	}
	top := map[string]json.RawMessage{}
	if current != "" && json.Unmarshal([]byte(current), &top) != nil {
		return "", "", false
	}
	var statements []json.RawMessage
	if raw, ok := top["Statement"]; ok && json.Unmarshal(raw, &statements) != nil {
		statements = []json.RawMessage{raw} // a single statement object
	}
	out := struct {
		Version   json.RawMessage   `json:"Version"`
		ID        json.RawMessage   `json:"Id,omitempty"`
		Statement []json.RawMessage `json:"Statement"`
	}{top["Version"], top["Id"], append(statements, stmt)}
	if out.Version == nil {
		out.Version = json.RawMessage(`"2012-10-17"`)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a policy's values are not HTML
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return "", "", false
	}
	parsed, err := trustpolicy.Parse(buf.Bytes())
	if err != nil {
		return "", "", false
	}
	// The decision alone: EvaluateTrust's diagnosis (IRSA034's probes of other identities) is not
	// needed to know the policy lets this ServiceAccount in, and the audit walks every subject.
	res := trustpolicy.Evaluate(parsed, validators.WebIdentityRequest(validators.TrustRequest{
		ProviderARN: provider, Subject: id.Subject(), Audience: id.EffectiveAudience(), Call: id.Call,
	}))
	if res.Decision != trustpolicy.DecisionAllow {
		return "", "", false
	}
	command = fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document file://trust-policy.json", ref.Name)
	return buf.String(), command, true
}
