package validators

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
)

// The annotations the EKS pod identity webhook reads
// (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/pkg/annotations.go). The
// first four belong on the ServiceAccount; token-expiration also on the pod, where it wins;
// skip-containers only on the pod.
const (
	AnnotationPrefix               = "eks.amazonaws.com/"
	AnnotationRoleARN              = AnnotationPrefix + "role-arn"
	AnnotationAudience             = AnnotationPrefix + "audience"
	AnnotationTokenExpiration      = AnnotationPrefix + "token-expiration"
	AnnotationSTSRegionalEndpoints = AnnotationPrefix + "sts-regional-endpoints"
	AnnotationSkipContainers       = AnnotationPrefix + "skip-containers"
)

// Token lifetimes the pod identity webhook and Kubernetes apply to the projected token.
const (
	// MinTokenExpirationSeconds is PIW's floor: a smaller token-expiration is raised to it
	// (pkg/validation.go ValidateMinTokenExpiration).
	MinTokenExpirationSeconds = 600
	// DefaultTokenExpirationSeconds is PIW's --token-expiration default, used when the
	// annotation does not parse.
	DefaultTokenExpirationSeconds = 86400
	// MaxTokenExpirationSeconds is Kubernetes' limit on a projected token's expirationSeconds:
	// the API server rejects a pod asking for more ("may not specify a duration larger than 2^32
	// seconds", pkg/apis/core/validation/validation.go, v1.37.2).
	MaxTokenExpirationSeconds = 1 << 32
)

type annotationScope int

const (
	onServiceAccount annotationScope = 1 << iota
	onPod
)

// irsaAnnotations lists each key with the objects PIW reads it from.
func irsaAnnotations() []irsaAnnotation {
	return []irsaAnnotation{
		{AnnotationRoleARN, onServiceAccount},
		{AnnotationAudience, onServiceAccount},
		{AnnotationSTSRegionalEndpoints, onServiceAccount},
		{AnnotationTokenExpiration, onServiceAccount | onPod},
		{AnnotationSkipContainers, onPod},
	}
}

// irsaAnnotation is an annotation key pod-identity-webhook reads and where it reads it.
type irsaAnnotation struct {
	key   string
	scope annotationScope
}

// ServiceAccountObject names a ServiceAccount for findings.
func ServiceAccountObject(sa *corev1.ServiceAccount) Object {
	return Object{Kind: "ServiceAccount", Namespace: sa.Namespace, Name: sa.Name}
}

// CheckServiceAccount runs the offline ServiceAccount checks IRSA001-003: the role ARN's
// grammar (as the cluster's pod-identity-webhook will inject it, see WebhookSettings), annotation
// keys that look like mistyped IRSA keys, and the other IRSA values.
func CheckServiceAccount(sa *corev1.ServiceAccount, s WebhookSettings) []Finding {
	if sa == nil {
		return nil
	}
	obj := ServiceAccountObject(sa)
	a := sa.Annotations
	out := checkKeys(obj, a, onServiceAccount)
	if v, ok := a[AnnotationRoleARN]; ok {
		out = append(out, checkRoleARNValue(obj.WithField(AnnotationField(AnnotationRoleARN)), v, s)...)
	}
	if v, ok := a[AnnotationAudience]; ok {
		out = append(out, checkAudience(obj.WithField(AnnotationField(AnnotationAudience)), v)...)
	}
	if v, ok := a[AnnotationTokenExpiration]; ok {
		out = append(out, checkTokenExpiration(obj.WithField(AnnotationField(AnnotationTokenExpiration)), v,
			fmt.Sprintf("%d, its --token-expiration", s.tokenExpiration()))...)
	}
	if v, ok := a[AnnotationSTSRegionalEndpoints]; ok {
		if _, err := strconv.ParseBool(v); err != nil {
			out = append(out, NewFinding(CheckAnnotationValue, obj.WithField(AnnotationField(AnnotationSTSRegionalEndpoints)),
				"sts-regional-endpoints "+Quote(v, 30)+" is not true or false; pod-identity-webhook ignores it").
				WithSeverity(SeverityWarning).
				WithFix(`Set eks.amazonaws.com/sts-regional-endpoints to "true" (the webhook then sets AWS_STS_REGIONAL_ENDPOINTS=regional) or "false".`))
		}
	}
	return out
}

// CheckPodAnnotations runs IRSA002-003 on a pod's annotations: for a workload, pass the pod
// template's annotations and spec and name the workload as obj so the user knows what to edit.
// sa is the pod's ServiceAccount (nil when unknown): a pod token-expiration that does not parse
// falls back to the ServiceAccount's (handler.go parsePodAnnotations).
func CheckPodAnnotations(obj Object, annotations map[string]string, spec *corev1.PodSpec, sa *corev1.ServiceAccount, s WebhookSettings) []Finding {
	out := checkKeys(obj, annotations, onPod)
	if v, ok := annotations[AnnotationTokenExpiration]; ok {
		uses := fmt.Sprintf("the ServiceAccount's value or %d", s.tokenExpiration())
		if sa != nil {
			uses = fmt.Sprintf("%d, the ServiceAccount's", s.ServiceAccountTokenExpiration(sa))
		}
		out = append(out, checkTokenExpiration(obj.WithField(AnnotationField(AnnotationTokenExpiration)), v, uses)...)
	}
	if _, ok := annotations[AnnotationSkipContainers]; ok && spec != nil {
		out = append(out, checkSkipContainers(obj.WithField(AnnotationField(AnnotationSkipContainers)), annotations, spec)...)
	}
	return out
}

func checkRoleARNValue(obj Object, v string, s WebhookSettings) []Finding {
	if v == "" {
		// pod-identity-webhook treats an empty role-arn as no IRSA at all: it injects nothing.
		return []Finding{NewFinding(CheckRoleARNInvalid, obj, "role-arn is empty: pod-identity-webhook injects nothing, so pods use the node role").
			WithSeverity(SeverityWarning).WithPredictedError(NoSTSCall).
			WithFix("Set eks.amazonaws.com/role-arn to the role's ARN, e.g. arn:aws:iam::111122223333:role/my-app, or remove the annotation.")}
	}
	arn, composed, known := s.InjectedRoleARN(v)
	if composed && !known {
		// The account it is composed with is not known here: check what the value contributes.
		arn = "arn:aws:iam::000000000000:role/" + v
	}
	_, err := ParseRoleARN(arn)
	var ae *ARNError
	if err == nil || !errors.As(err, &ae) {
		return nil
	}
	if composed {
		msg := "role-arn " + Quote(v, 40) + " composes to an invalid ARN: " + ae.Problem
		return []Finding{NewFinding(CheckRoleARNInvalid, obj, msg).WithPredictedError(predictedARNError(arn)).
			WithFix("Set eks.amazonaws.com/role-arn to a role name with an optional path (team/my-app), which pod-identity-webhook composes into arn:<partition>:iam::<account>:role/team/my-app, or to the full ARN.")}
	}
	// Show the value when the whole problem still fits; otherwise the problem matters more
	// (the fix quotes the value).
	msg := "role-arn " + Quote(v, 48) + " " + ae.Problem
	if utf8.RuneCountInString(msg) > MaxMessageRunes-len(CheckRoleARNInvalid)-2 {
		msg = "role-arn " + ae.Problem
	}
	f := NewFinding(CheckRoleARNInvalid, obj, msg).WithPredictedError(predictedARNError(v))
	if ae.Suggestion != "" {
		return []Finding{f.WithFix("Set eks.amazonaws.com/role-arn to " + ae.Suggestion + ".")}
	}
	return []Finding{f.WithFix("Fix eks.amazonaws.com/role-arn " + Quote(v, 200) + ": it " + ae.Problem +
		". The form is arn:<partition>:iam::<12-digit account>:role/<path><name>, e.g. arn:aws:iam::111122223333:role/my-app.")}
}

// predictedARNError is what a pod gets for an invalid AWS_ROLE_ARN. STS checks the RoleArn
// parameter's length (20-2048, its arnType) before reading it as an ARN and answers a shorter one
// with a constraint message; SDKs built on botocore reject it before the call
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
// Anything else that is not a role ARN is "Request ARN is invalid".
func predictedARNError(v string) string {
	if n := len(v); n < minARNLength {
		return fmt.Sprintf("ValidationError: 1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: "+
			"Member must have length greater than or equal to %d (botocore-based SDKs stop earlier: Invalid length for parameter RoleArn, value: %d, valid min length: %d)",
			SanitizeMessage(v, 40), minARNLength, n, minARNLength)
	}
	return STSRequestARNInvalid
}

func checkAudience(obj Object, v string) []Finding {
	switch t := strings.TrimSpace(v); {
	case t == "":
		return []Finding{NewFinding(CheckAnnotationValue, obj,
			"audience is empty: the token gets the API server's audience, which STS rejects").
			WithPredictedError(STSIncorrectAudience).
			WithFix("Remove eks.amazonaws.com/audience to use " + DefaultAudience + ", or set it to an audience the IAM OIDC provider lists.")}
	case t != v:
		return []Finding{NewFinding(CheckAnnotationValue, obj,
			"audience "+Quote(v, 40)+" has leading or trailing white space, so it matches no client ID").
			WithPredictedError(STSIncorrectAudience).
			WithFix("Set eks.amazonaws.com/audience to " + strconv.Quote(t) + ".")}
	}
	return nil
}

// checkTokenExpiration mirrors PIW: strconv.ParseInt, a value that does not parse is ignored
// (uses says what applies instead), a value below 600 is raised to 600.
func checkTokenExpiration(obj Object, v, uses string) []Finding {
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return []Finding{NewFinding(CheckAnnotationValue, obj, fmt.Sprintf(
			"token-expiration %s is not whole seconds; pod-identity-webhook uses %s", Quote(v, 24), uses)).
			WithSeverity(SeverityWarning).
			WithFix(fmt.Sprintf("Set eks.amazonaws.com/token-expiration to seconds as digits only, between %d and %d, e.g. \"3600\".", MinTokenExpirationSeconds, DefaultTokenExpirationSeconds))}
	case n < MinTokenExpirationSeconds:
		return []Finding{NewFinding(CheckAnnotationValue, obj, fmt.Sprintf(
			"token-expiration %d is below the %d-second minimum; pod-identity-webhook raises it to %d", n, MinTokenExpirationSeconds, MinTokenExpirationSeconds)).
			WithSeverity(SeverityWarning).
			WithFix(fmt.Sprintf("Set eks.amazonaws.com/token-expiration to at least \"%d\".", MinTokenExpirationSeconds))}
	case n > MaxTokenExpirationSeconds:
		return []Finding{NewFinding(CheckAnnotationValue, obj, fmt.Sprintf(
			"token-expiration %d exceeds Kubernetes' limit of 2^32 seconds; the API server rejects the pod", n)).
			WithFix(fmt.Sprintf("Set eks.amazonaws.com/token-expiration to at most \"%d\" (the default).", DefaultTokenExpirationSeconds))}
	}
	return nil
}

// checkSkipContainers reads the list exactly as pod-identity-webhook does (SkipContainers: CSV, a
// space after a comma is part of the name, a value that does not parse skips nothing) and reports
// entries that match no container: the container the author meant to keep away from AWS
// credentials gets them after all.
func checkSkipContainers(obj Object, annotations map[string]string, spec *corev1.PodSpec) []Finding {
	names := map[string]bool{}
	var all []string
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			names[c.Name] = true
			all = append(all, c.Name)
		}
	}
	entries, err := SkipContainers(annotations)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return []Finding{NewFinding(CheckAnnotationValue, obj,
			"skip-containers is not valid CSV ("+SanitizeMessage(err.Error(), 40)+"): no container is skipped").
			WithSeverity(SeverityWarning).
			WithFix("Write eks.amazonaws.com/skip-containers as comma-separated container names without spaces, e.g. \"istio-proxy,log-shipper\".")}
	}
	var out []Finding
	for _, n := range entries {
		if n == "" || names[n] {
			continue
		}
		msg := "skip-containers names " + Quote(n, 40) + ", which is not a container of this pod"
		fix := "List existing container names in eks.amazonaws.com/skip-containers (comma-separated, no spaces): " + strings.Join(all, ", ") + "."
		switch t := strings.TrimSpace(n); {
		case t != n && names[t]:
			msg = "skip-containers entry " + Quote(n, 40) + " has a space, part of the name for pod-identity-webhook"
			fix = "Remove the spaces around the commas in eks.amazonaws.com/skip-containers: " + strconv.Quote(t) + ", not " + strconv.Quote(n) + "."
		default:
			if m := closestName(t, all); m != "" {
				msg += "; did you mean " + Quote(m, 40) + "?"
				fix = "Replace " + strconv.Quote(n) + " with " + strconv.Quote(m) + " in eks.amazonaws.com/skip-containers."
			}
		}
		out = append(out, NewFinding(CheckAnnotationValue, obj, msg).WithSeverity(SeverityWarning).WithFix(fix))
	}
	return out
}

func closestName(n string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(n), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// checkKeys reports keys that look like a mistyped IRSA key (IRSA002), and exact IRSA keys on
// an object PIW does not read them from. The apiserver rejects some of these keys (upper case
// or spaces in the prefix), so a manifest linter is where they are caught.
func checkKeys(obj Object, annotations map[string]string, scope annotationScope) []Finding {
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Finding
	known := irsaAnnotations()
	for _, k := range keys {
		field := obj.WithField(AnnotationField(k))
		// A key that is an IRSA key is no typo of another one (TestIRSAKeysAreNoTyposOfEachOther):
		// the common case skips the edit distances.
		if i := slices.IndexFunc(known, func(a irsaAnnotation) bool { return a.key == k }); i >= 0 {
			if known[i].scope&scope == 0 {
				out = append(out, misplacedKey(field, k, scope))
			}
			continue
		}
		for _, known := range known {
			if !isTypoOf(k, known.key) {
				continue
			}
			out = append(out, typoFinding(field, k, known.key, known.scope&scope != 0, annotations))
			break
		}
	}
	return out
}

func misplacedKey(obj Object, key string, scope annotationScope) Finding {
	if scope == onPod {
		return NewFinding(CheckAnnotationKeyTypo, obj, key+" on a pod is ignored: pod-identity-webhook reads it from the ServiceAccount").
			WithSeverity(SeverityWarning).
			WithFix("Move " + key + " to the pod's ServiceAccount (spec.serviceAccountName).")
	}
	return NewFinding(CheckAnnotationKeyTypo, obj, key+" on a ServiceAccount is ignored: pod-identity-webhook reads it from the pod").
		WithSeverity(SeverityWarning).
		WithFix("Move " + key + " to the pod (or the workload's pod template) annotations.")
}

func typoFinding(obj Object, key, want string, inScope bool, annotations map[string]string) Finding {
	f := NewFinding(CheckAnnotationKeyTypo, obj, "annotation key "+Quote(key, 40)+" looks like a typo of "+want+"; it is ignored")
	if inScope {
		f = f.WithFix("Rename the annotation " + strconv.Quote(key) + " to " + want + ".")
	} else {
		where := "ServiceAccount"
		if want == AnnotationSkipContainers {
			where = "pod"
		}
		f = f.WithFix("Use the exact key " + want + ", and put it on the " + where + ".")
	}
	_, exact := annotations[want]
	if want != AnnotationRoleARN || exact || !inScope {
		// Only a lost role-arn leaves IRSA unconfigured; other lost keys fall back to defaults.
		f = f.WithSeverity(SeverityWarning).WithPredictedError("")
	}
	return f
}

// isTypoOf reports whether key is a near miss of the IRSA annotation want: the same key up to
// case, spaces and separators (EKS.amazonaws.com/role_arn), a misspelt prefix with the right
// name (eks.amazon.com/role-arn), or the right prefix with a misspelt or cut-off name
// (eks.amazonaws.com/rolearn, eks.amazonaws.com/role). Unrelated eks.amazonaws.com keys
// (pod-identity, compute-type, ...) are not near misses of any IRSA key.
func isTypoOf(key, want string) bool {
	if key == want {
		return false
	}
	if squash(key) == squash(want) {
		return true
	}
	kp, kn, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	wp, wn, _ := strings.Cut(want, "/")
	pd := editDistance(strings.ToLower(strings.Join(strings.Fields(kp), "")), wp)
	if pd > 3 {
		return false // every case below needs a prefix at most 3 edits away
	}
	kn, wn = squash(kn), squash(wn)
	nd := editDistance(kn, wn)
	switch {
	case pd <= 3 && nd == 0:
		return true
	case pd == 0 && nd <= 1+len(wn)/10:
		return true
	case pd == 0 && len(kn) >= 4 && strings.HasPrefix(wn, kn):
		return true
	}
	return false
}

// squash folds what people get wrong without noticing: case, white space and separators.
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case ' ', '\t', '\n', '\r', '-', '_', '.', '/':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
