package diagnose

import (
	"slices"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Probe outcomes and verdicts of the -o json contract.
const (
	OutcomeAllowed = "allowed" // STS issued credentials (they were discarded)
	OutcomeDenied  = "denied"  // STS answered with an error
	OutcomeError   = "error"   // STS could not be asked

	VerdictAgree        = "agree"
	VerdictDisagree     = "disagree"
	VerdictNoPrediction = "no prediction" // irsa-guard could not verify, so it predicted nothing
	VerdictNotAsked     = "could not ask STS"
)

// Probe is what STS answered to sts:AssumeRoleWithWebIdentity with a fresh token of the
// ServiceAccount, next to what irsa-guard predicted.
type Probe struct {
	RoleARN     string `json:"roleArn"`
	Audience    string `json:"audience"`
	SessionName string `json:"sessionName"`
	Outcome     string `json:"outcome"`
	AssumedRole string `json:"assumedRole,omitempty"`
	// Code and Message are STS's own error, e.g. InvalidIdentityToken "Incorrect token audience".
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Predicted is "allowed", "denied" or "unknown"; PredictedError the error irsa-guard predicted.
	Predicted      string `json:"predicted"`
	PredictedError string `json:"predictedError,omitempty"`
	Verdict        string `json:"verdict"`
}

// Prediction is what the walk's AWS steps say STS will answer: "denied" with the first predicted
// error when one fails, "unknown" when one could not be checked, else "allowed".
func Prediction(steps []Step) (predicted, predictedError string) {
	predicted = OutcomeAllowed
	for _, st := range steps {
		if !stsStep(st) {
			continue
		}
		switch st.Status {
		case StatusFail:
			return OutcomeDenied, st.PredictedError
		case StatusUnknown:
			predicted = "unknown"
		}
	}
	return predicted, ""
}

// stsStep reports whether a step checks something STS itself decides on: the AWS steps, and an
// invalid role ARN (STS: "Request ARN is invalid"). The pod's steps (injection, static
// credentials) and the other annotation values do not change what STS answers a token.
func stsStep(st Step) bool {
	if st.DecidedBy == validators.CheckRoleARNInvalid {
		return true
	}
	i := slices.IndexFunc(steps, func(s step) bool { return s.name == st.Step })
	return i >= 0 && steps[i].kind == needsAWS
}

// Judge fills in the prediction and the verdict.
func (p *Probe) Judge(steps []Step) {
	p.Predicted, p.PredictedError = Prediction(steps)
	switch {
	case p.Outcome == OutcomeError:
		p.Verdict = VerdictNotAsked
	case p.Predicted == "unknown":
		p.Verdict = VerdictNoPrediction
	case (p.Predicted == OutcomeAllowed) == (p.Outcome == OutcomeAllowed):
		p.Verdict = VerdictAgree
	default:
		p.Verdict = VerdictDisagree
	}
}

// Result is one subject's diagnosis, the -o json contract:
// {"subject": "...", "steps": [...], "probe": {...} | null}.
type Result struct {
	Subject string `json:"subject"`
	// Context is what the diagnosis rested on: the kubeconfig context, the issuer and where it
	// came from, the EKS cluster, and the AWS facts' source.
	Context Context `json:"context"`
	Steps   []Step  `json:"steps"`
	Probe   *Probe  `json:"probe"`
}

// Context is what a diagnosis rested on, for the report's header.
type Context struct {
	KubeContext string `json:"kubeContext,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	IssuerFrom  string `json:"issuerFrom,omitempty"` // "configuration", "eks:DescribeCluster", "the API server's discovery document"
	Cluster     string `json:"cluster,omitempty"`
	AWS         string `json:"aws"` // "the AWS SDK's credentials", "state file F", "not used (--offline)"
}

// Status is the subject's worst status: fail, unknown or pass (skips do not count). A probe STS
// denied fails the subject whatever was predicted.
func (r Result) Status() Status {
	worst := StatusPass
	for _, st := range r.Steps {
		if st.Status.rank() > worst.rank() {
			worst = st.Status
		}
	}
	if r.Probe != nil && r.Probe.Outcome == OutcomeDenied {
		worst = StatusFail
	}
	return worst
}

// Worst is the step that decides Status: the first failing step, else the first unknown one;
// ok is false when every step passed or was skipped.
func (r Result) Worst() (Step, bool) {
	for _, want := range []Status{StatusFail, StatusUnknown} {
		for _, st := range r.Steps {
			if st.Status == want {
				return st, true
			}
		}
	}
	return Step{}, false
}
