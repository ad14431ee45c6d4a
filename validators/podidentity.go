package validators

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// PodIdentityAssociation is a ServiceAccount's EKS Pod Identity association as EKS reports it
// (https://docs.aws.amazon.com/eks/latest/APIReference/API_PodIdentityAssociation.html).
type PodIdentityAssociation struct {
	ID                 string
	RoleARN            string
	TargetRoleARN      string // the role assumed from RoleARN for cross-account access; "" for none
	DisableSessionTags bool
}

// PodIdentityFacts is what EKS and IAM say about one ServiceAccount's EKS Pod Identity association.
// A nil Association with nothing Unverified means the ServiceAccount has none.
type PodIdentityFacts struct {
	Now          time.Time
	Cluster      string // the EKS cluster's name
	Association  *PodIdentityAssociation
	Role         *RoleFacts // the association's role, nil when unknown or not found
	RoleNotFound bool
	Unverified   []Unverified
}

// HasAssociation reports whether the ServiceAccount is known to have an association.
func (f PodIdentityFacts) HasAssociation() bool { return f.Association != nil }

// CheckPodIdentityAssociation reports what is wrong with an association's role (IRSA060), or that it
// could not be verified (IRSA090). The trust check (IRSA061) is CheckPodIdentityTrust.
func CheckPodIdentityAssociation(obj Object, f PodIdentityFacts) []Finding {
	var out []Finding
	for _, u := range mergeUnverified(f.Unverified) {
		out = append(out, NewFinding(CheckCouldNotVerify, obj, fmt.Sprintf("could not verify the %s (%s)", u.What, u.Reason)))
	}
	a := f.Association
	if a == nil {
		return out
	}
	if f.RoleNotFound {
		r, _ := ParseRoleARN(a.RoleARN)
		out = append(out, NewFinding(CheckPodIdentityRole, obj,
			fmt.Sprintf("Pod Identity association %s uses role %s, which does not exist in account %s", a.ID, Quote(r.Name, 40), r.Account)).
			WithFix(fmt.Sprintf("Create the role %s trusting pods.eks.amazonaws.com, or run aws eks update-pod-identity-association --cluster-name %s --association-id %s --role-arn ARN.",
				a.RoleARN, f.Cluster, a.ID)))
	}
	return out
}

// PodIdentityPrincipal is the service principal EKS Pod Identity assumes roles as
// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
const PodIdentityPrincipal = "pods.eks.amazonaws.com"

// CheckPodIdentityRoleTrust predicts whether the association's role lets EKS Pod Identity assume
// it (IRSA061): pods.eks.amazonaws.com needs sts:AssumeRole and, unless the association disables
// session tags, sts:TagSession (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
// The request context is what is known before a pod exists (podIdentityRequest); a decision that
// depends on the rest is "could not verify", never a denial.
func CheckPodIdentityRoleTrust(obj Object, f PodIdentityFacts, namespace, serviceAccount string) []Finding {
	if f.Role == nil || f.Association == nil {
		return nil
	}
	if err := f.Role.Trust.Err; err != nil {
		return []Finding{NewFinding(CheckCouldNotVerify, obj, "cannot read the Pod Identity role's trust policy: "+err.Error())}
	}
	actions := []string{"sts:AssumeRole", "sts:TagSession"}
	if f.Association.DisableSessionTags {
		actions = actions[:1]
	}
	var denied, dependsOn []string
	for _, action := range actions {
		res := trustpolicy.Evaluate(f.Role.Trust.Policy, podIdentityRequest(action, f, namespace, serviceAccount))
		switch res.Decision {
		case trustpolicy.DecisionAllow:
		case trustpolicy.DecisionUndetermined:
			dependsOn = append(dependsOn, res.DependsOn...)
		default:
			denied = append(denied, action)
		}
	}
	role, _ := ParseRoleARN(f.Role.ARN)
	var out []Finding
	if len(denied) > 0 {
		out = append(out, NewFinding(CheckPodIdentityTrust, obj,
			fmt.Sprintf("role %s does not let %s %s", Quote(role.Name, 40), PodIdentityPrincipal, strings.Join(denied, " and "))).
			WithFix(fmt.Sprintf(`Add to role %s's trust policy: {"Effect": "Allow", "Principal": {"Service": %q}, "Action": ["sts:AssumeRole", "sts:TagSession"]}.`,
				f.Role.ARN, PodIdentityPrincipal)))
	}
	if len(denied) == 0 && len(dependsOn) > 0 {
		slices.Sort(dependsOn)
		out = append(out, NewFinding(CheckCouldNotVerify, obj,
			fmt.Sprintf("could not verify role %s trusts Pod Identity: depends on %s", Quote(role.Name, 30), strings.Join(slices.Compact(dependsOn), ", "))).
			WithFix("Nothing to change if those values will fit when a pod starts; EKS sets them per pod (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html)."))
	}
	return propagating(out, "role", f.Role.CreateDate, f.Now)
}

// podIdentityRequest is the call EKS Pod Identity makes to assume the association's role, as far as
// it is known before a pod exists. Its session tags (aws:RequestTag/<key>, aws:TagKeys) are
// documented (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html): the cluster's
// name, the namespace and the ServiceAccount are known here, the pod's name and UID only once it
// exists, the cluster's ARN only where its region and account are. Whether EKS sets the
// confused-deputy keys (aws:SourceAccount, aws:SourceArn, ...) is not documented: they may be
// present with an unknown value.
func podIdentityRequest(action string, f PodIdentityFacts, namespace, serviceAccount string) trustpolicy.Request {
	req := trustpolicy.Request{
		Action: action, PrincipalType: "Service", Principal: PodIdentityPrincipal,
		Context: map[string][]string{"aws:SecureTransport": {"true"}},
		Unknown: map[string]trustpolicy.Unknown{},
		Types: map[string]trustpolicy.KeyType{
			"aws:CurrentTime": trustpolicy.TypeDate, "aws:EpochTime": trustpolicy.TypeDate | trustpolicy.TypeNumeric,
			"aws:SecureTransport": trustpolicy.TypeBool, "aws:RequestTag/*": trustpolicy.TypeString, "aws:TagKeys": trustpolicy.TypeString,
		},
	}
	if !f.Now.IsZero() {
		req.Context["aws:CurrentTime"] = []string{f.Now.UTC().Format(time.RFC3339)}
		req.Context["aws:EpochTime"] = []string{strconv.FormatInt(f.Now.Unix(), 10)}
	}
	for _, key := range []string{"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths"} {
		req.Unknown[key] = trustpolicy.Unknown{DependsOn: "how EKS Pod Identity calls STS (not documented)", MaybeAbsent: true}
	}
	if f.Association.DisableSessionTags {
		return req
	}
	req.Context["aws:RequestTag/eks-cluster-name"] = []string{f.Cluster}
	req.Context["aws:RequestTag/kubernetes-namespace"] = []string{namespace}
	req.Context["aws:RequestTag/kubernetes-service-account"] = []string{serviceAccount}
	req.Context["aws:TagKeys"] = []string{"eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace",
		"kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid"}
	req.Unknown["aws:RequestTag/kubernetes-pod-name"] = trustpolicy.Unknown{DependsOn: "the pod's name"}
	req.Unknown["aws:RequestTag/kubernetes-pod-uid"] = trustpolicy.Unknown{DependsOn: "the pod's UID"}
	req.Unknown["aws:RequestTag/eks-cluster-arn"] = trustpolicy.Unknown{DependsOn: "the cluster's ARN"}
	return req
}
