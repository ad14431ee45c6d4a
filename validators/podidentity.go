package validators

import (
	"fmt"
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
// session tags, sts:TagSession. The session tags EKS adds are the request context
// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html): the cluster name, namespace
// and ServiceAccount are known here; the pod's name and UID, and the cluster ARN, are not, so a
// decision that depends on them is "could not verify", never a denial.
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
	known := map[string][]string{
		"aws:RequestTag/eks-cluster-name":           {f.Cluster},
		"aws:RequestTag/kubernetes-namespace":       {namespace},
		"aws:RequestTag/kubernetes-service-account": {serviceAccount},
	}
	var denied, unknown []string
	for _, action := range actions {
		req := trustpolicy.Request{Action: action, PrincipalType: "Service", Principal: PodIdentityPrincipal, Context: known}
		res := trustpolicy.Evaluate(f.Role.Trust.Policy, req)
		switch {
		case res.Decision == trustpolicy.DecisionAllow:
		case dependsOnUnknown(f.Role.Trust.Policy, req, known):
			unknown = append(unknown, action)
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
	if len(unknown) > 0 {
		out = append(out, NewFinding(CheckCouldNotVerify, obj,
			fmt.Sprintf("could not verify role %s trusts Pod Identity: depends on the pod's session tags", Quote(role.Name, 30))))
	}
	return propagating(out, "role", f.Role.CreateDate, f.Now)
}

// dependsOnUnknown reports whether a statement naming the principal and action has a condition
// on a key the request does not know (a pod's name or UID, the cluster's ARN, anything not
// documented for this call), so its outcome cannot be told before the call.
func dependsOnUnknown(p *trustpolicy.Policy, req trustpolicy.Request, known map[string][]string) bool {
	res := trustpolicy.Evaluate(p, req)
	for _, s := range res.Statements {
		if !s.Principal.Matched || !s.Action.Matched {
			continue
		}
		for _, c := range s.Conditions {
			if _, ok := known[c.Key]; !ok && !c.Present {
				return true
			}
		}
	}
	return false
}
