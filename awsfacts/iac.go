package awsfacts

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/irsa-guard/irsa-guard/iac"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// IaCSource answers from infrastructure as code (lint --iac: CloudFormation templates, Terraform
// plans) for the roles and OIDC providers it defines, and from Base for everything else: the IaC
// wins for what it defines, since it is what AWS will hold once the change is deployed. Base may be
// nil (IaC alone): what the IaC does not define is then not known, and said so.
//
// Nothing is guessed. A role whose name CloudFormation or Terraform generates cannot be matched to
// a role-arn by name; a value known only at deploy (an attribute of another resource, a parameter
// not given) leaves the fact it is part of unknown; both are reported as "could not verify" with
// what they depend on, never as a missing role. A resource whose account is not known (no
// --account) may be created in another account than the role-arn's: it is taken for the
// role-arn's only where that account has no such resource now (Base says not found), since it is
// then the only way the role-arn can come to exist; otherwise it is "could not verify".
type IaCSource struct {
	Base  Source
	clock func() time.Time
	set   *iac.Set

	mu    sync.Mutex
	roles map[string]*validators.RoleFacts // by role ARN, shared by pointer like the other sources' facts

	plannedOnce sync.Once
	planned     []validators.PlannedRole
}

// NewIaCSource layers what set defines over base (nil: nothing else is known). clock is the time
// facts are read at, nil meaning time.Now.
func NewIaCSource(set *iac.Set, base Source, clock func() time.Time) *IaCSource {
	if clock == nil {
		clock = time.Now
	}
	return &IaCSource{Base: base, clock: clock, set: set, roles: map[string]*validators.RoleFacts{}}
}

// IdentityFacts is Base's answer with what the IaC defines laid over it.
func (s *IaCSource) IdentityFacts(ctx context.Context, id validators.Identity) validators.AWSFacts {
	ref, err := validators.ParseRoleARN(id.RoleARN)
	var facts validators.AWSFacts
	if s.Base != nil {
		facts = s.Base.IdentityFacts(ctx, id)
	} else {
		facts = validators.AWSFacts{Now: s.clock(), Partition: ref.Partition}
	}
	if err != nil || validators.ValidateIssuer(id.Issuer) != nil {
		return facts
	}
	s.layRole(&facts, ref, id.RoleARN)
	s.layProvider(&facts, ref, id.Issuer)
	return facts
}

// layRole puts the IaC's role named by the role-arn into facts, or says why it cannot.
func (s *IaCSource) layRole(facts *validators.AWSFacts, ref validators.RoleARN, roleARN string) {
	var generated, unplaced []string
	for _, r := range s.set.Roles {
		if !inAccount(r.Account, r.Partition, ref) {
			continue
		}
		if !r.Name.Known() {
			if !r.Deleted && mayBeIRSARole(r) {
				generated = append(generated, resourceID(r.Where))
			}
			continue
		}
		if !strings.EqualFold(r.Name.S, ref.Name) {
			continue // IAM role names are case-insensitive (iam:GetRole finds any case)
		}
		if !placed(r.Account, r.Partition) && !s.absentInBase(facts.RoleNotFound) {
			// The same template may create a role of this name in another account. Only where the
			// role-arn's account has no such role yet can this be the one it will have.
			unplaced = append(unplaced, resourceID(r.Where))
			continue
		}
		dropUnverified(facts, "role")
		switch {
		case r.Deleted:
			facts.Role, facts.RoleNotFound = nil, true
		case r.Condition != "":
			facts.Role, facts.RoleNotFound = nil, false
			facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role",
				Reason: fmt.Sprintf("%s is created only if condition %s holds", resourceID(r.Where), r.Condition), Fix: fixCondition})
		case !r.Path.Known():
			facts.Role, facts.RoleNotFound = s.roleFacts(r, ref, roleARN), false
			facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role's path",
				Reason: "it depends on " + r.Path.Unknown, Fix: fixDependsOn("The role's path depends on " + r.Path.Unknown)})
		default:
			facts.Role, facts.RoleNotFound = s.roleFacts(r, ref, ""), false
		}
		return
	}
	switch {
	case len(unplaced) > 0:
		facts.Role, facts.RoleNotFound = nil, false
		dropUnverified(facts, "role")
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role",
			Reason: "IaC role " + listSome(unplaced) + " has this name, in an account not given", Fix: fixAccount})
	case len(generated) > 0 && (s.Base == nil || facts.RoleNotFound):
		facts.RoleNotFound = false
		dropUnverified(facts, "role")
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role",
			Reason: "IaC role " + listSome(generated) + " is named only at deploy", Fix: fixGeneratedName})
	case s.Base == nil:
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role",
			Reason: "not in the --iac files", Fix: fixNotInIaC})
	}
}

// absentInBase reports whether Base says a fact does not exist in the role-arn's account now.
func (s *IaCSource) absentInBase(notFound bool) bool { return s.Base != nil && notFound }

// placed reports whether the account and partition an IaC resource is created in are known.
func placed(account, partition iac.Value) bool { return account.Known() && partition.Known() }

// roleFacts builds (once per ARN) the facts of an IaC role as the role-arn's account would hold
// it; arnOverride stands in for the ARN when its path is not known.
func (s *IaCSource) roleFacts(r iac.Role, ref validators.RoleARN, arnOverride string) *validators.RoleFacts {
	arn := arnOverride
	if arn == "" {
		arn = fmt.Sprintf("arn:%s:iam::%s:role%s%s", ref.Partition, ref.Account, r.Path.S, r.Name.S)
	}
	key := r.Where.String() + "\x00" + arn
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.roles[key]; ok {
		return f
	}
	f := &validators.RoleFacts{ARN: arn}
	if r.Trust.Known() {
		f.Trust = validators.ParseTrustDocument(r.Trust.S)
	} else {
		f.Trust = validators.TrustDocument{Text: r.Trust.S, Unknown: r.Trust.Unknown}
	}
	s.roles[key] = f
	return f
}

// layProvider puts the IaC's OIDC provider for the issuer in the role's account into facts, or
// says why it cannot.
func (s *IaCSource) layProvider(facts *validators.AWSFacts, ref validators.RoleARN, issuer string) {
	want := validators.ProviderARN(ref.Partition, ref.Account, issuer)
	var unknownURL, unplaced []string
	for _, p := range s.set.Providers {
		if !inAccount(p.Account, p.Partition, ref) {
			continue
		}
		if !p.URL.Known() {
			if !p.Deleted {
				unknownURL = append(unknownURL, resourceID(p.Where)+": Url depends on "+p.URL.Unknown)
			}
			continue
		}
		arn := validators.ProviderARN(ref.Partition, ref.Account, "https://"+strings.TrimSuffix(strings.TrimPrefix(p.URL.S, "https://"), "/"))
		if arn != want {
			continue
		}
		if !placed(p.Account, p.Partition) && !s.absentInBase(facts.ProviderNotFound) {
			unplaced = append(unplaced, resourceID(p.Where))
			continue
		}
		dropUnverified(facts, "OIDC provider")
		switch {
		case p.Deleted:
			facts.Provider, facts.ProviderNotFound = nil, true
		case p.Condition != "":
			facts.Provider, facts.ProviderNotFound = nil, false
			facts.Unverified = append(facts.Unverified, validators.Unverified{What: "OIDC provider",
				Reason: fmt.Sprintf("%s is created only if condition %s holds", resourceID(p.Where), p.Condition), Fix: fixCondition})
		case p.ListsUnknown != "":
			facts.Provider, facts.ProviderNotFound = nil, false
			facts.Unverified = append(facts.Unverified, validators.Unverified{What: "OIDC provider's client IDs",
				Reason: "they depend on " + p.ListsUnknown, Fix: fixDependsOn("The provider's client IDs depend on " + p.ListsUnknown)})
		default:
			facts.Provider, facts.ProviderNotFound = &validators.ProviderFacts{ARN: arn, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints}, false
		}
		if p.ThumbprintsAtApply || facts.Provider == nil {
			facts.Chain = nil // the thumbprint is fetched at deploy: nothing to compare
			dropUnverified(facts, "issuer's TLS thumbprint")
		}
		return
	}
	switch {
	case len(unplaced) > 0:
		facts.Provider, facts.ProviderNotFound, facts.Chain = nil, false, nil
		dropUnverified(facts, "OIDC provider")
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "OIDC provider",
			Reason: "IaC provider " + listSome(unplaced) + " is for this issuer, in an account not given", Fix: fixAccount})
	case len(unknownURL) > 0 && (s.Base == nil || facts.ProviderNotFound):
		facts.ProviderNotFound = false
		dropUnverified(facts, "OIDC provider")
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "OIDC provider",
			Reason: "IaC " + listSome(unknownURL), Fix: fixDependsOn("IaC " + strings.Join(unknownURL, "; "))})
	case s.Base == nil:
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "OIDC provider",
			Reason: "not in the --iac files", Fix: fixNotInIaC})
	}
}

// The fixes of what the IaC leaves unknown: nothing in the object is wrong.
const (
	fixCondition     = "Nothing to fix in the object. irsa-guard does not evaluate CloudFormation conditions; check again once the IaC is deployed."
	fixGeneratedName = "Nothing to fix in the object. Give the role a fixed name in the IaC (RoleName, name) so role-arn can be checked before deploy, or check again once it is deployed."
	fixAccount       = "Nothing to fix in the object. Give --account and --partition: where the IaC creates its resources, so irsa-guard knows whether they are the ones role-arn names."
	fixNotInIaC      = "Nothing to fix in the object. Add --aws-state FILE (irsa-guard aws-state export) or AWS access to check against what already exists."
)

// fixDependsOn says what the fact depends on, in full: the message may be cut short.
func fixDependsOn(detail string) string {
	return "Nothing to fix in the object. " + detail + ": give those values (lint --iac-param, --account, --partition, --region), or check again once the IaC is deployed."
}

// mayBeIRSARole reports whether a role's trust could let a web identity assume it: a role whose
// known trust allows only, say, lambda.amazonaws.com is not the one a role-arn means.
func mayBeIRSARole(r iac.Role) bool {
	p, err := trustpolicy.Parse([]byte(r.Trust.S))
	return err != nil || validators.TrustMayGrantWebIdentity(p)
}

// resourceID is the resource's own name: "AppRole" of "AWS::IAM::Role AppRole".
func resourceID(l iac.Location) string {
	if _, id, ok := strings.Cut(l.Resource, " "); ok {
		return id
	}
	return l.Resource
}

// listSome names up to two items and counts the rest, to keep a message short.
func listSome(items []string) string {
	if len(items) <= 2 {
		return strings.Join(items, " and ")
	}
	return fmt.Sprintf("%s, %s and %d more", items[0], items[1], len(items)-2)
}

// inAccount reports whether an IaC resource may be in the role-arn's account and partition:
// where they are not known, it may.
func inAccount(account, partition iac.Value, ref validators.RoleARN) bool {
	return (!account.Known() || account.S == ref.Account) && (!partition.Known() || partition.S == ref.Partition)
}

// dropUnverified removes what Base could not verify about what the IaC now answers for, keeping
// the rest of a merged entry ("role and OIDC provider").
func dropUnverified(facts *validators.AWSFacts, what string) {
	kept := facts.Unverified[:0]
	for _, u := range facts.Unverified {
		switch {
		case u.What == what:
			continue
		case u.What == "role and OIDC provider" && (what == "role" || what == "OIDC provider"):
			other := "OIDC provider"
			if what == "OIDC provider" {
				other = "role"
			}
			u.What = other
		}
		kept = append(kept, u)
	}
	facts.Unverified = kept
}

// CallerAccount is Base's; without Base it is not known.
func (s *IaCSource) CallerAccount(ctx context.Context) (string, string, error) {
	if s.Base != nil {
		return s.Base.CallerAccount(ctx)
	}
	return "", "", fmt.Errorf("no AWS account is known from IaC files alone; set --account and --partition")
}

// ClusterIssuer is Base's; IaC files do not tell which cluster is which.
func (s *IaCSource) ClusterIssuer(ctx context.Context, cluster string) (string, error) {
	if s.Base != nil {
		return s.Base.ClusterIssuer(ctx, cluster)
	}
	return "", fmt.Errorf("checking against IaC files alone needs --issuer, not --cluster")
}

// PodIdentity is Base's; IaC files are not read for EKS Pod Identity associations.
func (s *IaCSource) PodIdentity(ctx context.Context, cluster, namespace, serviceAccount string) validators.PodIdentityFacts {
	if s.Base != nil {
		return s.Base.PodIdentity(ctx, cluster, namespace, serviceAccount)
	}
	return validators.PodIdentityFacts{Cluster: cluster}
}

// PlannedRoles are the roles the IaC creates or keeps, for the cross-check of their trust with
// the manifests (IRSA080).
func (s *IaCSource) PlannedRoles() []validators.PlannedRole {
	s.plannedOnce.Do(func() { s.planned = plannedRoles(s.set) })
	return s.planned
}

func plannedRoles(set *iac.Set) []validators.PlannedRole {
	var out []validators.PlannedRole
	for _, r := range set.Roles {
		if r.Deleted {
			continue
		}
		policy, err := trustpolicy.Parse([]byte(r.Trust.S))
		if err != nil {
			continue // read as far as it goes elsewhere; no cross-check from a policy that does not parse
		}
		pr := validators.PlannedRole{ID: resourceID(r.Where), Where: r.Where.String(), Trust: policy}
		if r.Name.Known() {
			pr.Name = r.Name.S
		}
		if r.Account.Known() {
			pr.Account = r.Account.S
		}
		out = append(out, pr)
	}
	return out
}
