package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// Input is what one walk explains: the engine's report on the subject and what the walk could
// use. Why* say why a kind of step does not apply, for the skip message.
type Input struct {
	Subject string // "ServiceAccount shop/cart", "Pod shop/cart-7d9f"
	Report  review.Report
	IsPod   bool
	// AWSWhy is why the AWS steps cannot run ("" when they can): no credentials, no issuer.
	AWSWhy string
	// Images are the image scan's findings; ImagesWhy says why there are none to show.
	Images    []validators.Finding
	ImagesWhy string
	// ImagesNotes say what the scan read and assumed (the platform, unreadable pull secrets).
	ImagesNotes []string
	// PodIdentityWhy says why EKS Pod Identity was not looked up ("" when it was).
	PodIdentityWhy string
}

// Step is one step of the -o json contract.
type Step struct {
	Step           string               `json:"step"`
	Status         Status               `json:"status"`
	Checks         []validators.CheckID `json:"checks"`
	Message        string               `json:"message"`
	PredictedError string               `json:"predictedError,omitempty"`
	Fix            string               `json:"fix,omitempty"`
	// FixDocument is the corrected trust policy the fix applies (the file Fix names), when the
	// fix is one.
	FixDocument string `json:"fixDocument,omitempty"`
	// DecidedBy is the check whose finding gave the step its status and message ("" for a pass
	// or a skip).
	DecidedBy validators.CheckID `json:"decidedBy,omitempty"`
	// Warning marks a step that passes with a warning: what it checks works, with a caveat the
	// message names (an SDK the container may not run, a trust that stops working on a date).
	Warning bool `json:"warning,omitempty"`
	// Details are further findings and the trust policy's explanation, one line each.
	Details []string `json:"details,omitempty"`
}

// Walk sorts the report into the steps, in order.
func Walk(in Input) []Step {
	out := make([]Step, 0, len(steps))
	podIdentity := hasCheck(in.Report.Findings, validators.CheckRoleARNIgnored)
	for _, s := range steps {
		st := Step{Step: s.name, Checks: s.checks}
		if st.Checks == nil {
			st.Checks = []validators.CheckID{}
		}
		if why := in.skipReason(s, podIdentity); why != "" {
			st.Status, st.Message = StatusSkip, why
			out = append(out, st)
			continue
		}
		found := in.findings(s)
		for _, f := range found {
			if f.Severity == validators.SeverityError && st.Status != StatusFail {
				st.Status, st.Message, st.PredictedError, st.Fix, st.DecidedBy = StatusFail, f.String(), f.PredictedError, f.Fix, f.Check
			}
		}
		if st.Status == "" {
			if why := in.unverified(s); why != "" {
				st.Status, st.Message = StatusUnknown, "could not check: "+why
			}
		}
		if st.Status == "" {
			for _, f := range found {
				if f.Check == validators.CheckTrustUndetermined || f.Check == validators.CheckCouldNotVerify || f.Check == validators.CheckImageSDKUnknown {
					st.Status, st.Message, st.Fix, st.DecidedBy = StatusUnknown, f.String(), f.Fix, f.Check
					break
				}
			}
		}
		if st.Status == "" {
			st.Status, st.Message = StatusPass, in.passMessage(s)
			for _, f := range found {
				if f.Severity == validators.SeverityWarning {
					// It works, but not as the pass message would say: the warning is the news.
					st.Message, st.Fix, st.PredictedError, st.Warning, st.DecidedBy = f.String(), f.Fix, f.PredictedError, true, f.Check
					break
				}
			}
		}
		for _, f := range found {
			if line := f.String(); line != st.Message {
				st.Details = append(st.Details, fmt.Sprintf("%s %s", f.Severity, line))
			}
		}
		if s.kind == needsImages {
			st.Details = append(st.Details, in.ImagesNotes...)
		}
		if s.name == stepTrust {
			st.Details = append(st.Details, in.trustExplanation()...)
			in.correctTrust(&st, found)
		}
		out = append(out, st)
	}
	if other := in.uncovered(); len(other) > 0 {
		out = append(out, otherStep(other))
	}
	return out
}

// correctTrust offers the corrected trust policy when the trust step fails in a way a statement
// for this ServiceAccount repairs.
func (in Input) correctTrust(st *Step, found []validators.Finding) {
	r := in.Report
	if st.Status != StatusFail || r.Identity == nil || r.AWS == nil || r.AWS.Role == nil || r.AWS.Role.Trust.Err != nil {
		return
	}
	for _, f := range found {
		if f.Severity == validators.SeverityError && !slices.Contains(fixableTrust, f.Check) {
			return // a Deny or a rejected policy: adding an Allow does not repair it
		}
	}
	doc, command, ok := CorrectedTrust(*r.Identity, r.AWS.Role.Trust.Text)
	if !ok {
		return
	}
	st.Fix = strings.TrimSpace(st.Fix + " Or add the statement for this ServiceAccount: " + command + " with trust-policy.json:")
	st.FixDocument = doc
}

// uncovered are the findings no step covers (IRSA090 "could not verify", and any check added to
// the catalog before a step here): they are never dropped.
func (in Input) uncovered() []validators.Finding {
	var out []validators.Finding
	for _, f := range append(append([]validators.Finding(nil), in.Report.Findings...), in.Images...) {
		if !slices.ContainsFunc(steps, func(s step) bool { return s.covers(f.Check) }) {
			out = append(out, f)
		}
	}
	return out
}

// otherStep reports the uncovered findings: it fails on an error, else it could not check.
func otherStep(found []validators.Finding) Step {
	st := Step{Step: "other findings", Status: StatusUnknown, Checks: []validators.CheckID{}}
	for _, f := range found {
		if !slices.Contains(st.Checks, f.Check) {
			st.Checks = append(st.Checks, f.Check)
		}
		if f.Severity == validators.SeverityError && st.Status != StatusFail {
			st.Status, st.Message, st.PredictedError, st.Fix, st.DecidedBy = StatusFail, f.String(), f.PredictedError, f.Fix, f.Check
		}
	}
	if st.Status != StatusFail {
		st.Message, st.Fix = found[0].String(), found[0].Fix
	}
	for _, f := range found {
		if line := f.String(); line != st.Message {
			st.Details = append(st.Details, fmt.Sprintf("%s %s", f.Severity, line))
		}
	}
	return st
}

// skipReason says why a step does not apply, "" when it does.
func (in Input) skipReason(s step, podIdentity bool) string {
	r := in.Report
	switch s.kind {
	case needsAWS:
		switch {
		case podIdentity || (r.PodIdentity != nil && r.PodIdentity.HasAssociation()):
			return "EKS Pod Identity takes precedence: the role-arn annotation is ignored"
		case r.ServiceAccount == nil:
			return "the ServiceAccount is not known"
		case r.ServiceAccount.Annotations[validators.AnnotationRoleARN] == "":
			return "the ServiceAccount has no eks.amazonaws.com/role-arn: it does not use IRSA"
		case in.AWSWhy != "":
			return in.AWSWhy
		case r.Identity == nil:
			return "the role ARN is not valid (see the first step)"
		}
	case needsPod:
		if !in.IsPod {
			return "a ServiceAccount has no pod to check: run irsa-guard diagnose pod NS/NAME"
		}
	case needsCluster:
		if !r.WebhooksChecked {
			if r.ServiceAccount == nil || r.ServiceAccount.Annotations[validators.AnnotationRoleARN] == "" {
				return "the ServiceAccount does not use IRSA"
			}
			return "the cluster's MutatingWebhookConfigurations could not be read"
		}
	case needsImages:
		if !in.IsPod {
			return "a ServiceAccount has no images: run irsa-guard diagnose pod NS/NAME"
		}
		if in.ImagesWhy != "" {
			return in.ImagesWhy
		}
	case needsPodIdentity:
		if r.PodIdentity == nil && !podIdentity && !hasCheck(r.Findings, validators.CheckPodBothIdentities) {
			return in.PodIdentityWhy
		}
	}
	return ""
}

// findings are the engine's findings the step covers, and the image scan's for that step.
func (in Input) findings(s step) []validators.Finding {
	var out []validators.Finding
	for _, f := range append(append([]validators.Finding(nil), in.Report.Findings...), in.Images...) {
		if s.covers(f.Check) {
			out = append(out, f)
		}
	}
	return out
}

// unverified says why the facts the step rests on could not be read, "" when they were.
func (in Input) unverified(s step) string {
	var us []validators.Unverified
	if in.Report.AWS != nil {
		us = append(us, in.Report.AWS.Unverified...)
	}
	if in.Report.PodIdentity != nil {
		us = append(us, in.Report.PodIdentity.Unverified...)
	}
	for _, u := range us {
		for _, fact := range s.facts {
			if strings.Contains(u.What, fact) {
				return fmt.Sprintf("the %s could not be read (%s)", u.What, u.Reason)
			}
		}
	}
	if s.name == "thumbprint" && in.Report.AWS != nil && in.Report.AWS.Provider != nil && in.Report.AWS.Chain == nil {
		return "the issuer's TLS chain was not read (an AWS state file holds none)"
	}
	return ""
}

// passMessage says what was verified, with the real values.
func (in Input) passMessage(s step) string {
	r := in.Report
	aws := r.AWS
	switch s.name {
	case "role ARN format":
		if r.ServiceAccount == nil || r.ServiceAccount.Annotations[validators.AnnotationRoleARN] == "" {
			return "the ServiceAccount has no eks.amazonaws.com/role-arn"
		}
		return "eks.amazonaws.com/role-arn " + validators.Quote(r.ServiceAccount.Annotations[validators.AnnotationRoleARN], 80) + " is a valid IAM role ARN"
	case "OIDC provider for the issuer in the role's account":
		if aws != nil && aws.Provider != nil {
			return "IAM OIDC provider " + aws.Provider.ARN + " exists"
		}
	case "audience":
		if r.Identity != nil {
			return "the provider lists the token audience " + validators.Quote(r.Identity.EffectiveAudience(), 60)
		}
	case "thumbprint":
		if aws != nil && aws.Chain != nil {
			return "a thumbprint matches the TLS chain of " + aws.Chain.Host
		}
	case stepTrust:
		if r.Identity != nil {
			return "the trust policy lets " + r.Identity.Subject() + " assume the role"
		}
	case "role exists":
		if aws != nil && aws.Role != nil {
			return "role " + aws.Role.ARN + " exists"
		}
	case "pod-identity-webhook configuration":
		return "pod-identity-webhook is registered and can inject into this " + strings.Fields(in.Subject)[0]
	case "pod injected with IRSA credentials":
		return "every container got AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token mount"
	case "AWS SDK in each image":
		return "every AWS SDK found supports web identity"
	case "static credentials":
		return "no static AWS credentials come before the web identity token"
	case "token readable":
		return "every container can read the projected token"
	case "host network":
		return "the pod does not use the host network"
	case "EKS Pod Identity":
		if r.PodIdentity != nil && r.PodIdentity.HasAssociation() {
			a := r.PodIdentity.Association
			return "association " + a.ID + " gives the pods role " + a.RoleARN + ", which trusts " + validators.PodIdentityPrincipal
		}
		return "the ServiceAccount has no EKS Pod Identity association"
	}
	return "ok"
}

// trustExplanation is the evaluator's account of the decision: which statements applied, and for
// each why, with the request it evaluated.
func (in Input) trustExplanation() []string {
	r := in.Report
	if r.Identity == nil || r.AWS == nil || r.AWS.Role == nil || r.AWS.Role.Trust.Policy == nil {
		return nil
	}
	id := *r.Identity
	ref, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		return nil
	}
	policy := r.AWS.Role.Trust.Policy
	// The evaluator's result alone, without EvaluateTrust's diagnosis: the findings already hold it.
	res := trustpolicy.Evaluate(policy, validators.WebIdentityRequest(validators.TrustRequest{
		ProviderARN: validators.ProviderARN(ref.Partition, ref.Account, id.Issuer), Subject: id.Subject(),
		Audience: id.EffectiveAudience(), Call: id.Call,
	}))
	lines := []string{fmt.Sprintf("decision: %s for %s (audience %s)", res.Decision, id.Subject(), id.EffectiveAudience())}
	for _, s := range res.Statements {
		verdict := "does not apply"
		switch {
		case s.Matched:
			verdict = "applies"
		case s.Undetermined:
			verdict = "depends on " + strings.Join(s.DependsOn, ", ")
		}
		lines = append(lines, fmt.Sprintf("%s %s %s: %s", policy.Statements[s.Index].Name(), s.Effect, verdict, statementWhy(s)))
	}
	return lines
}

// statementWhy is the first reason a statement does or does not apply.
func statementWhy(s trustpolicy.StatementResult) string {
	if !s.Principal.Matched {
		return s.Principal.Reason
	}
	if !s.Action.Matched {
		return s.Action.Reason
	}
	for _, c := range s.Conditions {
		if !c.Matched {
			return fmt.Sprintf("%s %q: %s", c.Operator, c.Key, c.Reason)
		}
	}
	return s.Principal.Reason
}

func hasCheck(fs []validators.Finding, id validators.CheckID) bool {
	for _, f := range fs {
		if f.Check == id {
			return true
		}
	}
	return false
}
