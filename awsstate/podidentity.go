package awsstate

import (
	"crypto/sha1" //nolint:gosec // deterministic ids, not security
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// PodIdentityAssociation is an EKS Pod Identity association as eks:DescribePodIdentityAssociation
// reports it: the cluster gives the ServiceAccount's pods credentials of RoleARN (and, when set,
// of TargetRoleARN assumed from it). EKS allows one association per namespace and ServiceAccount:
// creating a second answers ResourceInUseException "Association already exists" (seen in
// eksctl-io/eksctl#7753 and aws/eks-hybrid#679).
// https://docs.aws.amazon.com/eks/latest/APIReference/API_PodIdentityAssociation.html
type PodIdentityAssociation struct {
	// Namespace and ServiceAccount name the Kubernetes ServiceAccount, with Kubernetes' own rules.
	Namespace      string `yaml:"namespace"`
	ServiceAccount string `yaml:"serviceAccount"`
	// RoleARN is the IAM role EKS Pod Identity assumes for the pods.
	RoleARN string `yaml:"roleArn"`
	// AssociationID is "a-" and 17 lower-case letters or digits; generated from the cluster,
	// namespace and ServiceAccount when empty, so the same state always serves the same id.
	AssociationID string `yaml:"associationId,omitempty"`
	// TargetRoleARN is the role assumed from RoleARN for cross-account access; optional.
	TargetRoleARN string `yaml:"targetRoleArn,omitempty"`
	// ExternalID is what the target role's trust must match as sts:ExternalId; EKS generates it
	// for associations with a target role. Generated when empty; only valid with TargetRoleARN.
	ExternalID string `yaml:"externalId,omitempty"`
	// DisableSessionTags turns off the session tags EKS Pod Identity adds.
	DisableSessionTags bool `yaml:"disableSessionTags,omitempty"`
	// OwnerARN is set when an EKS add-on owns the association.
	OwnerARN string `yaml:"ownerArn,omitempty"`
	// CreatedAt is also served as modifiedAt; default DefaultCreateDate.
	CreatedAt time.Time `yaml:"createdAt,omitempty"`
}

// ARN is the association's ARN, e.g.
// arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-9njjin9gfghecgocd (the shape
// of the examples in the AWS CLI reference for list-pod-identity-associations).
func (p *PodIdentityAssociation) ARN(partition string, c *Cluster) string {
	return fmt.Sprintf("arn:%s:eks:%s:%s:podidentityassociation/%s/%s", partition, c.Region, c.Account, c.Name, p.AssociationID)
}

var (
	// roleARNRE is the shape of a role ARN that STS and EKS accept: partition, 12-digit
	// account, IAM's path (/ or /.../) and role name rules.
	roleARNRE       = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}):role(/|/[\x21-\x7E]*/)([\w+=,.@-]{1,64})$`)
	associationIDRE = regexp.MustCompile(`^a-[a-z0-9]{17}$`)
	addonARNRE      = regexp.MustCompile(`^arn:[a-z-]+:eks:[a-z0-9-]+:[0-9]{12}:addon/.+$`)
)

// ParseRoleARN splits a role ARN into partition, account, path and name; ok is false for
// anything STS would call "Request ARN is invalid". The path is at most 512 characters.
func ParseRoleARN(arn string) (partition, account, path, name string, ok bool) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil || len(m[3]) > 512 {
		return "", "", "", "", false
	}
	return m[1], m[2], m[3], m[4], true
}

// normalizePodIdentity fills in association defaults and checks them; partition is the
// state's.
func (c *Cluster) normalizePodIdentity(partition string) error {
	bySA := map[string]bool{}
	byID := map[string]bool{}
	for i := range c.PodIdentityAssociations {
		p := &c.PodIdentityAssociations[i]
		where := fmt.Sprintf("cluster %q podIdentityAssociations[%d]", c.Name, i)
		if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
			return fmt.Errorf("%s: namespace %q is not a Kubernetes namespace name: %s", where, p.Namespace, strings.Join(errs, "; "))
		}
		if errs := validation.IsDNS1123Subdomain(p.ServiceAccount); len(errs) > 0 {
			return fmt.Errorf("%s: serviceAccount %q is not a Kubernetes ServiceAccount name: %s", where, p.ServiceAccount, strings.Join(errs, "; "))
		}
		where = fmt.Sprintf("cluster %q association %s/%s", c.Name, p.Namespace, p.ServiceAccount)
		if err := checkRoleARN(p.RoleARN, partition); err != nil {
			return fmt.Errorf("%s: roleArn %w", where, err)
		}
		if p.TargetRoleARN != "" {
			if err := checkRoleARN(p.TargetRoleARN, partition); err != nil {
				return fmt.Errorf("%s: targetRoleArn %w", where, err)
			}
		}
		if p.AssociationID == "" {
			p.AssociationID = generatedID("a-", 17, c.Account, c.Region, c.Name, p.Namespace, p.ServiceAccount)
		}
		switch {
		case p.ExternalID != "" && p.TargetRoleARN == "":
			return fmt.Errorf("%s: externalId is only set for associations with a targetRoleArn", where)
		case p.ExternalID == "" && p.TargetRoleARN != "":
			p.ExternalID = generatedUUID(c.Account, c.Region, c.Name, p.AssociationID)
		}
		if p.CreatedAt.IsZero() {
			p.CreatedAt = DefaultCreateDate()
		}
		switch {
		case !associationIDRE.MatchString(p.AssociationID):
			return fmt.Errorf("%s: associationId %q must be \"a-\" and 17 lower-case letters or digits, e.g. a-9njjin9gfghecgocd", where, p.AssociationID)
		case p.OwnerARN != "" && !addonARNRE.MatchString(p.OwnerARN):
			return fmt.Errorf("%s: ownerArn %q must be an EKS add-on ARN (arn:aws:eks:REGION:ACCOUNT:addon/...)", where, p.OwnerARN)
		case len(p.ExternalID) > 256:
			return fmt.Errorf("%s: externalId is longer than 256 characters", where)
		case bySA[p.Namespace+"/"+p.ServiceAccount]:
			return fmt.Errorf("%s: listed twice; EKS allows one association per ServiceAccount (ResourceInUseException: Association already exists)", where)
		case byID[p.AssociationID]:
			return fmt.Errorf("%s: associationId %s is used twice in the cluster", where, p.AssociationID)
		}
		bySA[p.Namespace+"/"+p.ServiceAccount] = true
		byID[p.AssociationID] = true
	}
	return nil
}

func checkRoleARN(arn, partition string) error {
	p, _, _, _, ok := ParseRoleARN(arn)
	switch {
	case !ok:
		return fmt.Errorf("%q must be a role ARN, e.g. arn:%s:iam::111122223333:role/app", arn, partition)
	case p != partition:
		return fmt.Errorf("%q is in partition %s, not the state's %s", arn, p, partition)
	}
	return nil
}

// generatedID is prefix + n lower-case base32 characters (letters and 2-7) of a hash of parts.
func generatedID(prefix string, n int, parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00"))) //nolint:gosec // an id generator, not security
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:n]
}

// generatedUUID is a UUID-shaped (version 4 layout) hex id from a hash of parts.
func generatedUUID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00"))) //nolint:gosec // an id generator, not security
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
