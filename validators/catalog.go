package validators

import (
	"slices"
	"strings"
)

// CheckID is a stable identifier of one check. IDs are never renumbered or reused: users
// reference them in per-check configuration, scripts and bug reports.
type CheckID string

// The check catalog. docs/checks.md documents each one for users; TestCatalogIsDocumented
// keeps the two in step.
const (
	CheckRoleARNInvalid       CheckID = "IRSA001"
	CheckAnnotationKeyTypo    CheckID = "IRSA002"
	CheckAnnotationValue      CheckID = "IRSA003"
	CheckRoleNotFound         CheckID = "IRSA010"
	CheckRoleARNMismatch      CheckID = "IRSA011"
	CheckProviderMissing      CheckID = "IRSA020"
	CheckProviderAudience     CheckID = "IRSA021"
	CheckProviderThumbprint   CheckID = "IRSA022"
	CheckTrustNoProvider      CheckID = "IRSA030"
	CheckTrustAction          CheckID = "IRSA031"
	CheckTrustConditions      CheckID = "IRSA032"
	CheckTrustExplicitDeny    CheckID = "IRSA033"
	CheckTrustTooBroad        CheckID = "IRSA034"
	CheckTrustCrossAccount    CheckID = "IRSA035"
	CheckCouldNotVerify       CheckID = "IRSA090"
	CheckPodNotInjected       CheckID = "IRSA040"
	CheckPodStaticCredentials CheckID = "IRSA041"
	CheckPodTokenUnreadable   CheckID = "IRSA042"
	CheckPodHostNetwork       CheckID = "IRSA043"
	CheckPodBothIdentities    CheckID = "IRSA044"
	CheckPodRoleARNDiffers    CheckID = "IRSA045"
	CheckWebhookMissing       CheckID = "IRSA050"
	CheckWebhookCannotInject  CheckID = "IRSA051"
	CheckPodIdentityRole      CheckID = "IRSA060"
	CheckPodIdentityTrust     CheckID = "IRSA061"
	CheckRoleARNIgnored       CheckID = "IRSA062"
	CheckTrustRejected        CheckID = "IRSA036"
	CheckTrustLiteral         CheckID = "IRSA037"
	CheckTrustTimeWindow      CheckID = "IRSA038"
	CheckTrustUndetermined    CheckID = "IRSA039"
	// The image checks read a container's image (imagescan) for AWS SDKs too old for the
	// pod's credential mechanism.
	CheckImageSDKTooOldIRSA        CheckID = "IRSA070"
	CheckImageSDKNoSTSModule       CheckID = "IRSA071"
	CheckImageSDKTooOldPodIdentity CheckID = "IRSA072"
	CheckImageSDKUnknown           CheckID = "IRSA073"
	CheckPlannedTrustNearMiss      CheckID = "IRSA080"
)

// The exact STS error strings a pod would see, as AWS's troubleshooting article quotes them
// (https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors). Match them on
// code plus message prefix: clients format the rest differently.
const (
	STSRequestARNInvalid  = "ValidationError: Request ARN is invalid"
	STSNoOIDCProvider     = "InvalidIdentityToken: No OpenIDConnect provider found in your account for <issuer>"
	STSIncorrectAudience  = "InvalidIdentityToken: Incorrect token audience"
	STSThumbprintMismatch = "InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	STSNotAuthorized      = "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
	// NoSTSCall stands for "the SDK never calls STS": the pod silently uses other credentials.
	NoSTSCall = "none: the SDK silently uses other credentials (node role via IMDS, or static keys)"
	// PodIdentityAccessDenied is what the EKS Pod Identity Agent's eks-auth:AssumeRoleForPodIdentity
	// returns when the association's role is missing or does not trust pods.eks.amazonaws.com
	// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
	PodIdentityAccessDenied = "AccessDeniedException from eks-auth:AssumeRoleForPodIdentity: the SDK gets no credentials from the Pod Identity Agent"
	// IAMMalformedPolicy is what IAM answers when a trust policy is written (CreateRole,
	// UpdateAssumeRolePolicy) with an element a role trust policy cannot have, e.g.
	// "MalformedPolicyDocument: Has prohibited field Resource"
	// (https://github.com/kubernetes-sigs/external-dns/issues/3085).
	IAMMalformedPolicy = "MalformedPolicyDocument (from IAM when the trust policy is written)"
	// PodIdentityOldSDK is what an SDK older than EKS Pod Identity does with the agent's
	// endpoint: it ignores it or refuses it (the Go v1 SDK: "only loopback hosts are allowed"
	// for http://169.254.170.23) and moves on to other credentials, or none
	// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html).
	PodIdentityOldSDK = "none: the SDK ignores or refuses the Pod Identity Agent's endpoint and uses other credentials, or none"
)

// CheckInfo is a catalog entry: what a check means and what to do about it.
type CheckInfo struct {
	ID             CheckID
	Title          string
	Severity       Severity // default; a check may raise or lower it for one finding
	PredictedError string
	Fix            string
}

// catalog lists every check irsa-guard knows. It is data, read through LookupCheck and Checks so
// no caller can change a check for everyone.
var catalog = map[CheckID]CheckInfo{
	CheckRoleARNInvalid: {CheckRoleARNInvalid, "role-arn annotation is not a valid IAM role ARN", SeverityError, STSRequestARNInvalid,
		"Set eks.amazonaws.com/role-arn to arn:<partition>:iam::<12-digit account>:role/<path><name>, e.g. arn:aws:iam::111122223333:role/my-app."},
	CheckAnnotationKeyTypo: {CheckAnnotationKeyTypo, "annotation key looks like a typo of an eks.amazonaws.com/* key", SeverityError, NoSTSCall,
		"Rename the annotation to the exact key (all lower case, no spaces), e.g. eks.amazonaws.com/role-arn."},
	CheckAnnotationValue: {CheckAnnotationValue, "invalid value in an eks.amazonaws.com/* annotation", SeverityError, "",
		"Use a valid value: audience is a non-empty string, token-expiration an integer >= 600, sts-regional-endpoints true or false, skip-containers existing container names."},
	CheckRoleNotFound: {CheckRoleNotFound, "IAM role does not exist", SeverityError, STSNotAuthorized,
		"Create the role, or fix the account ID, path or name in eks.amazonaws.com/role-arn."},
	CheckRoleARNMismatch: {CheckRoleARNMismatch, "role-arn differs from the role's real ARN (path or case)", SeverityError, STSNotAuthorized,
		"Copy the role's exact ARN (aws iam get-role --role-name NAME --query Role.Arn) into eks.amazonaws.com/role-arn."},
	CheckProviderMissing: {CheckProviderMissing, "no IAM OIDC provider for the cluster's issuer in the role's account", SeverityError, STSNoOIDCProvider,
		"Create the provider in the role's account: eksctl utils associate-iam-oidc-provider --cluster CLUSTER --approve."},
	CheckProviderAudience: {CheckProviderAudience, "IAM OIDC provider does not list the token audience", SeverityError, STSIncorrectAudience,
		"Add the audience: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ARN --client-id sts.amazonaws.com."},
	CheckProviderThumbprint: {CheckProviderThumbprint, "IAM OIDC provider thumbprint does not match the issuer's certificate chain", SeverityWarning, STSThumbprintMismatch,
		"Update the thumbprint: aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn ARN --thumbprint-list SHA1."},
	CheckTrustNoProvider: {CheckTrustNoProvider, "trust policy does not trust this cluster's OIDC provider", SeverityError, STSNotAuthorized,
		"Add a statement with Principal {\"Federated\": \"arn:<partition>:iam::<account>:oidc-provider/<issuer without https://>\"}."},
	CheckTrustAction: {CheckTrustAction, "trust statement does not allow sts:AssumeRoleWithWebIdentity", SeverityError, STSNotAuthorized,
		"Set the statement's Action to sts:AssumeRoleWithWebIdentity."},
	CheckTrustConditions: {CheckTrustConditions, "trust conditions do not match this ServiceAccount's sub or aud", SeverityError, STSNotAuthorized,
		"Make the <issuer>:sub condition match system:serviceaccount:<namespace>:<name> and <issuer>:aud match the audience (sts.amazonaws.com)."},
	CheckTrustExplicitDeny: {CheckTrustExplicitDeny, "an explicit Deny statement in the trust policy matches", SeverityError, STSNotAuthorized,
		"Narrow or remove the Deny statement; an explicit Deny always wins over Allow."},
	CheckTrustTooBroad: {CheckTrustTooBroad, "trust is too broad: other ServiceAccounts of the cluster can assume the role", SeverityWarning, "",
		"Add a StringEquals condition on <issuer>:sub = system:serviceaccount:<namespace>:<name>."},
	CheckTrustCrossAccount: {CheckTrustCrossAccount, "trust names an OIDC provider in another account than the role", SeverityError, STSNotAuthorized,
		"Create an OIDC provider for the issuer in the role's own account and trust that one; cross-account providers are not supported."},
	CheckCouldNotVerify: {CheckCouldNotVerify, "could not verify against AWS", SeverityInfo, "",
		"Nothing to fix in the object. Check irsa-guard's AWS access (IAM permissions, network, throttling) if this persists."},
	CheckPodNotInjected: {CheckPodNotInjected, "pod was not injected with IRSA credentials", SeverityError, NoSTSCall,
		"Check the pod-identity-webhook is installed and serving, then recreate the pod after the ServiceAccount is annotated."},
	CheckPodStaticCredentials: {CheckPodStaticCredentials, "static AWS credentials in the environment shadow the web identity", SeverityWarning, NoSTSCall,
		"Remove AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE and AWS_SHARED_CREDENTIALS_FILE from the container."},
	CheckPodTokenUnreadable: {CheckPodTokenUnreadable, "non-root containers may not be able to read the projected token", SeverityWarning, "",
		"Set spec.securityContext.fsGroup (e.g. 65534) so every container can read the token."},
	CheckPodHostNetwork: {CheckPodHostNetwork, "hostNetwork pod with IRSA can reach IMDS and fall back to the node role", SeverityInfo, NoSTSCall,
		"Drop hostNetwork: true, or block IMDS for the node (hop limit 1 does not protect host-network pods)."},
	CheckPodBothIdentities: {CheckPodBothIdentities, "both IRSA and EKS Pod Identity variables are present", SeverityWarning, "",
		"Use one mechanism: remove the role-arn annotation or the Pod Identity association."},
	CheckPodRoleARNDiffers: {CheckPodRoleARNDiffers, "pod's AWS_ROLE_ARN differs from its ServiceAccount's annotation", SeverityWarning, "",
		"Remove the hand-set AWS_ROLE_ARN, or make it equal to the ServiceAccount's eks.amazonaws.com/role-arn."},
	CheckWebhookMissing: {CheckWebhookMissing, "no pod-identity-webhook MutatingWebhookConfiguration in the cluster", SeverityError, NoSTSCall,
		"Restore the pod-identity-webhook MutatingWebhookConfiguration (EKS manages it; self-managed clusters must install amazon-eks-pod-identity-webhook)."},
	CheckWebhookCannotInject: {CheckWebhookCannotInject, "pod-identity-webhook exists but cannot inject into this pod", SeverityError, NoSTSCall,
		"Fix the pod-identity-webhook configuration: a pods CREATE rule, a caBundle, and selectors that include this namespace."},
	CheckPodIdentityRole: {CheckPodIdentityRole, "the EKS Pod Identity association's IAM role does not exist", SeverityError, PodIdentityAccessDenied,
		"Create the role, or point the association at an existing one: aws eks update-pod-identity-association --cluster-name CLUSTER --association-id ID --role-arn ARN."},
	CheckPodIdentityTrust: {CheckPodIdentityTrust, "the EKS Pod Identity association's role does not trust pods.eks.amazonaws.com", SeverityError, PodIdentityAccessDenied,
		"Add a statement with Principal {\"Service\": \"pods.eks.amazonaws.com\"} and Action [\"sts:AssumeRole\", \"sts:TagSession\"] to the role's trust policy."},
	CheckRoleARNIgnored: {CheckRoleARNIgnored, "role-arn annotation is ignored: EKS Pod Identity takes precedence", SeverityInfo, "",
		"Nothing breaks. Remove eks.amazonaws.com/role-arn once every workload of the ServiceAccount uses its Pod Identity association."},
	CheckTrustRejected: {CheckTrustRejected, "trust policy has an element IAM rejects when the policy is written", SeverityError, IAMMalformedPolicy,
		"Remove the element: a role trust policy has only Sid, Effect, Principal, Action (or NotAction) and Condition; IAM rejects Resource, NotResource and NotPrincipal."},
	CheckTrustLiteral: {CheckTrustLiteral, "trust policy has text IAM reads literally (a wildcard in a principal, a policy variable)", SeverityWarning, "",
		"Name the exact provider ARN in Principal (IAM never expands * there), and set \"Version\": \"2012-10-17\" so ${...} policy variables are substituted."},
	CheckTrustTimeWindow: {CheckTrustTimeWindow, "trust allows this ServiceAccount only within a time window", SeverityWarning, STSNotAuthorized,
		"Move or drop the aws:CurrentTime or aws:EpochTime condition before the window ends; outside it STS answers AccessDenied."},
	CheckTrustUndetermined: {CheckTrustUndetermined, "trust outcome depends on values STS sees only at call time, or on undocumented semantics", SeverityWarning, "",
		"Nothing to change if the named value will fit when the pod calls STS; try it with irsa-guard trust explain --context KEY=VALUE. For an undocumented comparison, use an operator of the key's type."},
	CheckImageSDKTooOldIRSA: {CheckImageSDKTooOldIRSA, "image has an AWS SDK too old for IRSA web identity", SeverityWarning, NoSTSCall,
		"Upgrade the SDK in the image to the minimum the EKS guide lists for IRSA (e.g. aws-sdk-go 1.23.13, botocore 1.12.200, aws-sdk 2.525.0) and rebuild."},
	CheckImageSDKNoSTSModule: {CheckImageSDKNoSTSModule, "AWS SDK without its STS module: web identity is skipped", SeverityWarning, NoSTSCall,
		"Add the SDK's STS module to the application: software.amazon.awssdk:sts (Java v2), com.amazonaws:aws-java-sdk-sts (Java v1), AWSSDK.SecurityToken (.NET)."},
	CheckImageSDKTooOldPodIdentity: {CheckImageSDKTooOldPodIdentity, "image has an AWS SDK too old for EKS Pod Identity", SeverityWarning, PodIdentityOldSDK,
		"Upgrade the SDK in the image to the minimum the EKS guide lists for Pod Identity (e.g. aws-sdk-go 1.47.11, botocore 1.34.41, Java v2 2.21.30) and rebuild."},
	CheckImageSDKUnknown: {CheckImageSDKUnknown, "image scan could not tell an AWS SDK's version or support", SeverityInfo, "",
		"Nothing to fix if the SDK is recent; check its version by hand, or raise the scan's limits when it skipped files."},
	CheckPlannedTrustNearMiss: {CheckPlannedTrustNearMiss, "a role in the IaC trusts a ServiceAccount the input lacks, one edit away from one it has", SeverityWarning, STSNotAuthorized,
		"Make the names agree: rename the ServiceAccount (a chart's serviceAccount name value) to the one the trust names, or change the trust's <issuer>:sub to system:serviceaccount:<namespace>:<name> of the ServiceAccount."},
}

// LookupCheck returns the catalog entry of id; ok is false for an ID irsa-guard does not know.
func LookupCheck(id CheckID) (CheckInfo, bool) {
	info, ok := catalog[id]
	return info, ok
}

// Checks returns every catalog entry, ordered by ID.
func Checks() []CheckInfo {
	out := make([]CheckInfo, 0, len(catalog))
	for _, info := range catalog {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b CheckInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}
