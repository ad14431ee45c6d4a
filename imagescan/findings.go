package imagescan

import (
	"fmt"
	"strings"
	"unicode"

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
	if f, ok := skippedFinding(obj, r); ok {
		out = append(out, f)
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
	// msg puts the image path last, cut from the left so its file name survives.
	msg := func(id validators.CheckID, format string, args ...any) string {
		head := fmt.Sprintf(format, args...) + ": "
		room := validators.MaxMessageRunes - len(id) - 2 - len([]rune(head))
		return head + tail(s.Path, room)
	}
	switch {
	case sup.MissingModule != "" && m == IRSA:
		id := validators.CheckImageSDKNoSTSModule
		f := validators.NewFinding(id, obj, msg(id, "%s without %s", what, sup.MissingModule)).
			WithFix(fmt.Sprintf("Add %s (the SDK's version) to the application at %s; without it the SDK skips web identity and falls back to other credentials.", sup.MissingModule, s.Path))
		if sup.Verdict == VerdictUnknown {
			f = f.WithSeverity(validators.SeverityInfo).WithFix(sentence(sup.Note) + ". Make sure the module is on the application's classpath.")
		}
		return f, true
	case sup.Verdict == VerdictTooOld:
		return validators.NewFinding(tooOld, obj, msg(tooOld, "%s is too old for %s", what, m)).
			WithFix(fmt.Sprintf("Upgrade %s at %s to %s or later (%s).", s.Name, s.Path, sup.Minimum, minimumsPage(m))), true
	case sup.Verdict == VerdictNotCapable:
		fix := sentence(sup.Note) + "."
		if s.Name == "boto" {
			fix = "Move the code from the legacy boto library to boto3 (" + minBoto3IRSA + " or later for IRSA, " + minBotoPI + " for EKS Pod Identity)."
		}
		return validators.NewFinding(tooOld, obj, msg(tooOld, "%s cannot use %s", what, m)).WithFix(fix), true
	case sup.Verdict == VerdictUnknown:
		id := validators.CheckImageSDKUnknown
		return validators.NewFinding(id, obj, msg(id, "could not tell whether %s supports %s", what, m)).
			WithFix(sentence(sup.Note) + ". Check the SDK's version by hand against " + minimumsPage(m) + "."), true
	case sup.Note != "" && m == IRSA && sup.Minimum == minJavaV1IRSA:
		return validators.NewFinding(tooOld, obj, msg(tooOld, "%s is below %s, IRSA's current documented minimum", what, minJavaV1IRSACurrent)).
			WithSeverity(validators.SeverityInfo).
			WithFix("Nothing breaks: web identity works since " + minJavaV1IRSA + ". Upgrade to " + minJavaV1IRSACurrent + " or later to match the EKS guide."), true
	}
	return validators.Finding{}, false
}

// sentence capitalises a note's first letter for a fix.
func sentence(note string) string {
	if note == "" {
		return "The scan cannot tell"
	}
	r := []rune(note)
	return string(unicode.ToUpper(r[0])) + string(r[1:])
}

// tail cuts p from the left to at most room runes, marking the cut with "...".
func tail(p string, room int) string {
	r := []rune(p)
	if room < 8 || len(r) <= room {
		return p
	}
	return "..." + string(r[len(r)-room+3:])
}

// skippedFinding says, once per report, that the scan left something out. Links are not counted:
// a link's target is read on its own path when it is in the image.
func skippedFinding(obj validators.Object, r Report) (validators.Finding, bool) {
	var reasons []string
	for _, s := range r.Skipped {
		if s.Reason != skipLink {
			reasons = append(reasons, fmt.Sprintf("%s (%d)", s.Reason, s.Count))
		}
	}
	if len(reasons) == 0 && r.Complete {
		return validators.Finding{}, false
	}
	prefix := "image scan skipped: "
	if !r.Complete {
		prefix = "image scan incomplete: "
	}
	return validators.NewFinding(validators.CheckImageSDKUnknown, obj, prefix+strings.Join(reasons, "; ")).
		WithFix("Nothing to fix in the image if the skipped files hold no AWS SDK; raise the scan's limits to read them."), true
}

func minimumsPage(m Mechanism) string {
	if m == PodIdentity {
		return "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html"
	}
	return "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html"
}
