package awsfacts

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

// StateSource answers from an AWS state file (package awsstate) directly: no HTTP, no SDK and no
// rate limit (that budget protects AWS, not a file), so offline lint runs at file speed. It
// answers what the SDK source would answer against an account holding exactly the file's
// resources: IAM's case-insensitive role names, the provider in the role's account, and
// another account readable only through a configured reader role, as with real credentials.
// The issuer's TLS chain is not in a state file, so IRSA022 is not checked.
type StateSource struct {
	state   *awsstate.State
	readers map[string]string
	clock   func() time.Time
	// Facts are built once, at load, and shared by pointer: they are never modified, so the review
	// engine may key its memo on them, as it does for the SDK source's cache entries.
	roles     map[string]map[string]*validators.RoleFacts     // account -> lower-case role name -> role
	providers map[string]map[string]*validators.ProviderFacts // account -> provider ARN -> provider
}

// NewStateSource indexes a state (already validated by awsstate.ParseState) for lookups.
// readerRoles are the accounts irsa-guard may read besides its own (config aws.readerRoles);
// clock is the time the facts are read at (for the propagation window), nil meaning time.Now.
func NewStateSource(state *awsstate.State, readerRoles map[string]string, clock func() time.Time) *StateSource {
	if clock == nil {
		clock = time.Now
	}
	s := &StateSource{state: state, readers: readerRoles, clock: clock,
		roles: map[string]map[string]*validators.RoleFacts{}, providers: map[string]map[string]*validators.ProviderFacts{}}
	for account, acct := range state.Accounts {
		byName := map[string]*validators.RoleFacts{}
		for _, r := range acct.Roles {
			byName[strings.ToLower(r.Name)] = &validators.RoleFacts{
				ARN: r.ARN(state.Partition, account), Trust: validators.ParseTrustDocument(string(r.TrustPolicy)), CreateDate: r.CreateDate,
			}
		}
		s.roles[account] = byName
		byARN := map[string]*validators.ProviderFacts{}
		for _, p := range acct.OIDCProviders {
			arn := p.ARN(state.Partition, account)
			byARN[arn] = &validators.ProviderFacts{ARN: arn, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints, CreateDate: p.CreateDate}
		}
		s.providers[account] = byARN
	}
	return s
}

// IdentityFacts answers from the state.
func (s *StateSource) IdentityFacts(_ context.Context, id validators.Identity) validators.AWSFacts {
	ref, err := validators.ParseRoleARN(id.RoleARN)
	facts := validators.AWSFacts{Now: s.clock(), Partition: ref.Partition}
	if err != nil {
		return facts
	}
	if err := validators.ValidateIssuer(id.Issuer); err != nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: "no valid cluster issuer configured"})
		return facts
	}
	if why := s.access(ref); why != "" {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: why})
		return facts
	}
	// iam:GetRole takes a name: IAM finds the role case-insensitively, whatever path or partition
	// the annotation says, and answers with its real ARN, which IRSA011 compares.
	facts.Role = s.roles[ref.Account][strings.ToLower(ref.Name)]
	facts.RoleNotFound = facts.Role == nil
	// GetOpenIDConnectProvider takes the ARN, which names the partition.
	facts.Provider = s.providers[ref.Account][validators.ProviderARN(ref.Partition, ref.Account, id.Issuer)]
	facts.ProviderNotFound = facts.Provider == nil
	return facts
}

// access says why the role's account cannot be read, "" when it can: the state's own account, or
// another account for which a reader role is configured.
func (s *StateSource) access(ref validators.RoleARN) string {
	if ref.Account == s.state.CallerAccount {
		return ""
	}
	if _, ok := s.readers[ref.Account]; ok {
		return ""
	}
	return "no access to account " + ref.Account
}

// CallerAccount is the state's callerAccount and partition.
func (s *StateSource) CallerAccount(context.Context) (string, string, error) {
	return s.state.Partition, s.state.CallerAccount, nil
}

// ClusterIssuer is the issuer of a cluster listed in the state.
func (s *StateSource) ClusterIssuer(_ context.Context, cluster string) (string, error) {
	var names []string
	for _, c := range s.state.Clusters {
		if c.Name == cluster {
			return c.Issuer, nil
		}
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("the AWS state has no cluster %q (it lists %s); add it under clusters: or give --issuer", cluster, orNone(names))
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// PodIdentity answers from the associations listed under the state's cluster.
func (s *StateSource) PodIdentity(_ context.Context, cluster, namespace, serviceAccount string) validators.PodIdentityFacts {
	facts := validators.PodIdentityFacts{Now: s.clock(), Cluster: cluster}
	var found bool
	for _, c := range s.state.Clusters {
		if c.Name != cluster {
			continue
		}
		found = true
		for _, a := range c.PodIdentityAssociations {
			if a.Namespace == namespace && a.ServiceAccount == serviceAccount {
				facts.Association = &validators.PodIdentityAssociation{ID: a.AssociationID, RoleARN: a.RoleARN,
					TargetRoleARN: a.TargetRoleARN, DisableSessionTags: a.DisableSessionTags}
			}
		}
	}
	if !found {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "EKS Pod Identity association",
			Reason: fmt.Sprintf("EKS cluster %s not found; check cluster.name and cluster.region", validators.Quote(cluster, 40))})
		return facts
	}
	if facts.Association == nil {
		return facts
	}
	ref, err := validators.ParseRoleARN(facts.Association.RoleARN)
	if err != nil {
		return facts
	}
	if why := s.access(ref); why != "" {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "Pod Identity role", Reason: why})
		return facts
	}
	facts.Role = s.roles[ref.Account][strings.ToLower(ref.Name)]
	facts.RoleNotFound = facts.Role == nil
	return facts
}

// PolicySource stands for one trust policy given on the command line (lint --trust-policy): every
// role named by a ServiceAccount exists, under exactly that ARN, with this trust policy. Nothing
// else about AWS is known, so only the trust checks (IRSA030-036) have anything to say.
type PolicySource struct {
	Trust validators.TrustDocument
	Clock func() time.Time // nil means time.Now

	mu    sync.Mutex
	roles map[string]*validators.RoleFacts // by ARN, shared by pointer like the other sources' facts
}

// IdentityFacts gives the role the policy and leaves everything else unknown, unreported.
func (p *PolicySource) IdentityFacts(_ context.Context, id validators.Identity) validators.AWSFacts {
	now := time.Now
	if p.Clock != nil {
		now = p.Clock
	}
	ref, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		return validators.AWSFacts{Now: now()}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.roles == nil {
		p.roles = map[string]*validators.RoleFacts{}
	}
	role, ok := p.roles[id.RoleARN]
	if !ok {
		role = &validators.RoleFacts{ARN: id.RoleARN, Trust: p.Trust}
		p.roles[id.RoleARN] = role
	}
	return validators.AWSFacts{Now: now(), Partition: ref.Partition, Role: role}
}

// CallerAccount is not known for a policy file.
func (p *PolicySource) CallerAccount(context.Context) (string, string, error) {
	return "", "", fmt.Errorf("no AWS account is known when checking a trust policy file; set --account and --partition")
}

// PodIdentity: no association is known for a policy file.
func (p *PolicySource) PodIdentity(_ context.Context, cluster, _, _ string) validators.PodIdentityFacts {
	return validators.PodIdentityFacts{Cluster: cluster}
}

// ClusterIssuer is not known for a policy file.
func (p *PolicySource) ClusterIssuer(context.Context, string) (string, error) {
	return "", fmt.Errorf("checking a trust policy file needs --issuer, not --cluster")
}
