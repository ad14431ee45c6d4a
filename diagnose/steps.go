// Package diagnose walks AWS's troubleshooting article "How do I troubleshoot IRSA errors in Amazon
// EKS?" (https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors) for one ServiceAccount or
// pod, in the article's order, and then the checks the article does not have. It asks the review
// engine the same question the webhook asks and sorts the answer into steps: each step passes,
// fails, could not be checked (and says why), or does not apply. What a step checks is the
// engine's choice, never this package's; it only groups and explains.
package diagnose

import (
	"slices"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Status is a step's outcome.
type Status string

// The statuses of the -o json contract.
const (
	StatusPass    Status = "pass"
	StatusFail    Status = "fail"
	StatusUnknown Status = "unknown"
	StatusSkip    Status = "skip"
)

// rank orders statuses worst first, for a table.
func (s Status) rank() int {
	switch s {
	case StatusFail:
		return 4
	case StatusUnknown:
		return 3
	case statusWarn:
		return 2
	case StatusPass:
		return 1
	}
	return 0
}

// stepKind says which facts a step needs, so a step without them is skipped, not passed.
type stepKind int

const (
	needsNothing     stepKind = iota // the object alone
	needsAWS                         // the AWS facts of the role and provider
	needsPod                         // a pod (diagnose pod)
	needsCluster                     // the cluster's webhook configurations
	needsImages                      // an image scan
	needsPodIdentity                 // the EKS Pod Identity association (a cluster name)
)

// step is one step of the walk: its name, the checks it covers, and which AWS facts it rests on
// (the What of an unverified fact, for "could not check").
type step struct {
	name   string
	checks []validators.CheckID
	kind   stepKind
	facts  []string
}

// stepTrust is the trust policy step's name.
const stepTrust = "trust policy"

// steps are the article's steps in its order, then the checks it does not have.
var steps = []step{
	{"role ARN format", []validators.CheckID{validators.CheckRoleARNInvalid, validators.CheckAnnotationKeyTypo, validators.CheckAnnotationValue}, needsNothing, nil},
	{"OIDC provider for the issuer in the role's account", []validators.CheckID{validators.CheckProviderMissing}, needsAWS, []string{"OIDC provider"}},
	{"audience", []validators.CheckID{validators.CheckProviderAudience}, needsAWS, []string{"OIDC provider"}},
	{"thumbprint", []validators.CheckID{validators.CheckProviderThumbprint}, needsAWS, []string{"OIDC provider", "issuer's TLS thumbprint"}},
	{stepTrust, []validators.CheckID{validators.CheckTrustNoProvider, validators.CheckTrustAction, validators.CheckTrustConditions,
		validators.CheckTrustExplicitDeny, validators.CheckTrustTooBroad, validators.CheckTrustCrossAccount, validators.CheckTrustRejected,
		validators.CheckTrustLiteral, validators.CheckTrustTimeWindow, validators.CheckTrustUndetermined, validators.CheckPlannedTrustNearMiss}, needsAWS, []string{"role"}},
	{"role exists", []validators.CheckID{validators.CheckRoleNotFound, validators.CheckRoleARNMismatch}, needsAWS, []string{"role"}},
	{"pod-identity-webhook configuration", []validators.CheckID{validators.CheckWebhookMissing, validators.CheckWebhookCannotInject}, needsCluster, nil},
	{"pod injected with IRSA credentials", []validators.CheckID{validators.CheckPodNotInjected, validators.CheckPodRoleARNDiffers}, needsPod, nil},
	{"AWS SDK in each image", imageChecks, needsImages, nil},
	{"static credentials", []validators.CheckID{validators.CheckPodStaticCredentials}, needsPod, nil},
	{"token readable", []validators.CheckID{validators.CheckPodTokenUnreadable}, needsPod, nil},
	{"host network", []validators.CheckID{validators.CheckPodHostNetwork}, needsPod, nil},
	{"EKS Pod Identity", []validators.CheckID{validators.CheckPodBothIdentities, validators.CheckPodIdentityRole,
		validators.CheckPodIdentityTrust, validators.CheckRoleARNIgnored}, needsPodIdentity, []string{"EKS Pod Identity association", "Pod Identity role"}},
}

// covers reports whether the step covers id.
func (s step) covers(id validators.CheckID) bool { return slices.Contains(s.checks, id) }

// imageChecks are the checks of the image scan (package imagescan).
var imageChecks = []validators.CheckID{validators.CheckImageSDKTooOldIRSA, validators.CheckImageSDKNoSTSModule,
	validators.CheckImageSDKTooOldPodIdentity, validators.CheckImageSDKUnknown}
