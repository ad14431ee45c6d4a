package imagescan

import (
	"fmt"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Mechanism is the way a pod gets AWS credentials that a report is judged for.
type Mechanism int

const (
	// IRSA is IAM roles for service accounts: the SDK calls sts:AssumeRoleWithWebIdentity.
	IRSA Mechanism = iota
	// PodIdentity is EKS Pod Identity: the SDK's container credential provider calls the agent.
	PodIdentity
)

func (m Mechanism) String() string {
	if m == PodIdentity {
		return "EKS Pod Identity"
	}
	return "IRSA"
}

// Findings turns a report into catalog findings about one container (obj names it, e.g.
// validators.Object{Kind: "Pod", ...}.WithContainer("app")), judged for mechanism m:
// IRSA070/IRSA072 for an SDK too old, IRSA071 for an SDK without its STS module, IRSA073
// (info) for what the scan could not tell. An SDK that works says nothing.
func (r Report) Findings(obj validators.Object, m Mechanism) []validators.Finding {
	var out []validators.Finding
	for _, s := range r.SDKs {
		if f, ok := sdkFinding(obj, s, m); ok {
			out = append(out, f)
		}
	}
	if len(r.Skipped) > 0 || !r.Complete {
		out = append(out, skippedFinding(obj, r))
	}
	return out
}

func sdkFinding(obj validators.Object, s SDK, m Mechanism) (validators.Finding, bool) {
	sup, tooOld := s.IRSA, validators.CheckImageSDKTooOldIRSA
	if m == PodIdentity {
		sup, tooOld = s.PodIdentity, validators.CheckImageSDKTooOldPodIdentity
	}
	what := s.Name
	if s.Version != "" {
		what += " " + s.Version
	}
	switch {
	case sup.MissingModule != "" && m == IRSA:
		f := validators.NewFinding(validators.CheckImageSDKNoSTSModule, obj,
			fmt.Sprintf("%s without %s at %s", what, sup.MissingModule, s.Path)).
			WithFix(fmt.Sprintf("Add %s (the same version as the SDK) to the application's classpath or packages; without it the SDK skips web identity and falls back to other credentials.", sup.MissingModule))
		if sup.Verdict == VerdictUnknown {
			f = f.WithSeverity(validators.SeverityInfo)
		}
		return f, true
	case sup.Verdict == VerdictTooOld || sup.Verdict == VerdictNotCapable:
		msg := fmt.Sprintf("%s at %s is too old for %s", what, s.Path, m)
		fix := fmt.Sprintf("Upgrade %s in the image to %s or later (%s).", s.Name, sup.Minimum, minimumsPage(m))
		if sup.Verdict == VerdictNotCapable {
			msg = fmt.Sprintf("%s at %s cannot use %s", what, s.Path, m)
			fix = sup.Note
			if s.Name == "boto" {
				fix = "Move the code from the legacy boto library to boto3 (" + minBoto3IRSA + " or later for IRSA, " + minBotoPI + " for EKS Pod Identity)."
			}
		}
		return validators.NewFinding(tooOld, obj, msg).WithFix(fix), true
	case sup.Verdict == VerdictUnknown:
		return validators.NewFinding(validators.CheckImageSDKUnknown, obj,
			fmt.Sprintf("could not tell whether %s at %s supports %s: %s", what, s.Path, m, sup.Note)), true
	case sup.Note != "" && m == IRSA && sup.Minimum == minJavaV1IRSA:
		return validators.NewFinding(tooOld, obj, fmt.Sprintf("%s at %s is below %s, the current documented minimum", what, s.Path, minJavaV1IRSACurrent)).
			WithSeverity(validators.SeverityInfo).
			WithFix("Nothing breaks: web identity works since " + minJavaV1IRSA + ". Upgrade to " + minJavaV1IRSACurrent + " or later to match the EKS guide."), true
	}
	return validators.Finding{}, false
}

// skippedFinding says, once per report, that the scan left something out.
func skippedFinding(obj validators.Object, r Report) validators.Finding {
	reasons := make([]string, 0, len(r.Skipped))
	for _, s := range r.Skipped {
		reasons = append(reasons, fmt.Sprintf("%s (%d)", s.Reason, s.Count))
	}
	prefix := "image scan skipped: "
	if !r.Complete {
		prefix = "image scan incomplete: "
	}
	return validators.NewFinding(validators.CheckImageSDKUnknown, obj, prefix+strings.Join(reasons, "; ")).
		WithFix("Nothing to fix in the image if the skipped files hold no AWS SDK; raise the scan's limits to read them.")
}

func minimumsPage(m Mechanism) string {
	if m == PodIdentity {
		return "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html"
	}
	return "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html"
}
