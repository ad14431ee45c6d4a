// Package awsstate is the AWS state file: a YAML description of the part of AWS irsa-guard's
// checks read (IAM roles and their trust policies, IAM OIDC providers, EKS clusters and their Pod
// Identity associations), per account.
// `irsa-guard lint --aws-state` answers from it directly (awsfacts.StateSource), `aws-state export`
// writes it from a real account, and the test fake (package fakeaws) serves it over AWS's wire
// protocols. docs/aws-state.md documents the format.
package awsstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultCreateDate is the CreateDate of roles and providers whose state gives none: old enough
// that no check treats them as "may still be propagating".
func DefaultCreateDate() time.Time { return time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC) }

// State is the AWS world the fake serves: which account the default credentials belong to, the
// EKS clusters, and per account the IAM roles and OIDC providers.
type State struct {
	// Partition is the ARN partition (aws, aws-cn, aws-us-gov, ...); default aws.
	Partition string `yaml:"partition,omitempty"`
	// CallerAccount is the account of the default credentials (CallerAccessKeyID).
	CallerAccount string `yaml:"callerAccount"`
	// Clusters are served by eks:DescribeCluster.
	Clusters []Cluster `yaml:"clusters,omitempty"`
	// Accounts maps a 12-digit account ID to its IAM resources.
	Accounts map[string]*Account `yaml:"accounts,omitempty"`
	// Faults are injected from the start; Server.SetFaults replaces them at run time.
	Faults []Fault `yaml:"faults,omitempty"`
}

// Cluster is an EKS cluster as eks:DescribeCluster reports it.
type Cluster struct {
	Name string `yaml:"name"`
	// Account owning the cluster; default the state's callerAccount.
	Account string `yaml:"account,omitempty"`
	// Region of the cluster; a DescribeCluster signed for another region does not find it.
	Region string `yaml:"region"`
	// Issuer is the cluster's OIDC issuer URL (identity.oidc.issuer).
	Issuer string `yaml:"issuer"`
	// PodIdentityAssociations are served by eks:ListPodIdentityAssociations and
	// eks:DescribePodIdentityAssociation.
	PodIdentityAssociations []PodIdentityAssociation `yaml:"podIdentityAssociations,omitempty"`
}

// Account holds one account's IAM resources.
type Account struct {
	Roles         []Role         `yaml:"roles,omitempty"`
	OIDCProviders []OIDCProvider `yaml:"oidcProviders,omitempty"`
}

// Role is an IAM role. TrustPolicy is the assume-role policy as JSON text.
type Role struct {
	Name               string     `yaml:"name"`
	Path               string     `yaml:"path,omitempty"`
	CreateDate         time.Time  `yaml:"createDate,omitempty"`
	MaxSessionDuration int32      `yaml:"maxSessionDuration,omitempty"`
	Description        string     `yaml:"description,omitempty"`
	TrustPolicy        PolicyText `yaml:"trustPolicy"`
	Tags               []Tag      `yaml:"tags,omitempty"`
}

// Tag is an IAM resource tag.
type Tag struct {
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// OIDCProvider is an IAM OpenID Connect provider. URL is the issuer with https://, as written
// when the provider is created.
type OIDCProvider struct {
	URL         string    `yaml:"url"`
	ClientIDs   []string  `yaml:"clientIDs,omitempty"`
	Thumbprints []string  `yaml:"thumbprints,omitempty"`
	CreateDate  time.Time `yaml:"createDate,omitempty"`
	Tags        []Tag     `yaml:"tags,omitempty"`
}

// PolicyText is a policy document as JSON text. In YAML it may be written as an object (YAML or
// JSON flow style) or as a string holding JSON; both become the same compact JSON.
type PolicyText string

// UnmarshalYAML accepts a mapping (re-encoded as JSON) or a string holding JSON.
func (p *PolicyText) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("line %d: trustPolicy string is not valid JSON; write the policy as a YAML object or quote valid JSON", n.Line)
		}
		*p = PolicyText(s)
		return nil
	case yaml.MappingNode:
		var v map[string]any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: trustPolicy cannot be written as JSON: %w", n.Line, err)
		}
		*p = PolicyText(b)
		return nil
	default:
		return fmt.Errorf("line %d: trustPolicy must be an object or a string holding JSON", n.Line)
	}
}

// ARN is the role's ARN in the given partition and account.
func (r *Role) ARN(partition, account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", partition, account, r.Path, r.Name)
}

// ARN is the provider's ARN in the given partition and account.
func (p *OIDCProvider) ARN(partition, account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, strings.TrimPrefix(p.URL, "https://"))
}

// LoadState reads and validates an AWS state file.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read AWS state: %w", err)
	}
	s, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("AWS state %s: %w", path, err)
	}
	return s, nil
}

// ParseState decodes an AWS state document strictly (an unknown key is an error naming its line),
// fills in defaults and validates it, so a typo in a test fixture or a CI state file fails loudly
// instead of silently serving an emptier AWS.
func ParseState(b []byte) (*State, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s State
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("document is empty; expected at least callerAccount")
		}
		return nil, fmt.Errorf("decode: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("more than one YAML document; put the whole state in one document")
	}
	if err := s.Normalize(); err != nil {
		return nil, err
	}
	return &s, nil
}

var (
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathRE = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	thumbRE    = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	partitions = map[string]bool{"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true,
		"aws-iso-b": true, "aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true}
)

// Normalize fills in defaults and checks every field, naming the object and the fix. ParseState,
// Listen and SetState call it; it is idempotent, so a State built or edited in Go gets the same
// defaults and checks as one read from YAML.
func (s *State) Normalize() error {
	if s.Partition == "" {
		s.Partition = "aws"
	}
	if !partitions[s.Partition] {
		return fmt.Errorf("partition %q is unknown; use aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or aws-eusc", s.Partition)
	}
	if !accountRE.MatchString(s.CallerAccount) {
		return fmt.Errorf("callerAccount %q must be a 12-digit account ID in quotes, e.g. \"111122223333\"", s.CallerAccount)
	}
	if s.Accounts == nil {
		s.Accounts = map[string]*Account{}
	}
	for id, acct := range s.Accounts {
		if !accountRE.MatchString(id) {
			return fmt.Errorf("accounts: key %q must be a 12-digit account ID in quotes", id)
		}
		if acct == nil {
			s.Accounts[id] = &Account{}
			continue
		}
		if err := acct.normalize(id); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i := range s.Clusters {
		c := &s.Clusters[i]
		if c.Account == "" {
			c.Account = s.CallerAccount
		}
		switch {
		case c.Name == "":
			return fmt.Errorf("clusters[%d]: name is required", i)
		case !accountRE.MatchString(c.Account):
			return fmt.Errorf("cluster %q: account %q must be a 12-digit account ID", c.Name, c.Account)
		case c.Region == "":
			return fmt.Errorf("cluster %q: region is required, e.g. us-west-2", c.Name)
		case !strings.HasPrefix(c.Issuer, "https://"):
			return fmt.Errorf("cluster %q: issuer %q must be an https:// URL", c.Name, c.Issuer)
		case seen[c.Account+"/"+c.Region+"/"+c.Name]:
			return fmt.Errorf("cluster %q: listed twice for account %s in %s", c.Name, c.Account, c.Region)
		}
		seen[c.Account+"/"+c.Region+"/"+c.Name] = true
		if err := c.normalizePodIdentity(s.Partition); err != nil {
			return err
		}
	}
	for i, f := range s.Faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("faults[%d]: %w", i, err)
		}
	}
	return nil
}

func (a *Account) normalize(id string) error {
	names := map[string]bool{}
	for i := range a.Roles {
		r := &a.Roles[i]
		if r.Path == "" {
			r.Path = "/"
		}
		if r.CreateDate.IsZero() {
			r.CreateDate = DefaultCreateDate()
		}
		if r.MaxSessionDuration == 0 {
			r.MaxSessionDuration = 3600
		}
		switch {
		case !roleNameRE.MatchString(r.Name):
			return fmt.Errorf("account %s roles[%d]: name %q must be 1-64 characters of letters, digits and +=,.@_-", id, i, r.Name)
		case len(r.Path) > 512 || !rolePathRE.MatchString(r.Path):
			return fmt.Errorf("account %s role %q: path %q must start and end with / (e.g. /team/), at most 512 characters", id, r.Name, r.Path)
		case r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200:
			return fmt.Errorf("account %s role %q: maxSessionDuration %d must be between 3600 and 43200 seconds", id, r.Name, r.MaxSessionDuration)
		case r.TrustPolicy == "":
			return fmt.Errorf("account %s role %q: trustPolicy is required (every IAM role has one)", id, r.Name)
		case names[strings.ToLower(r.Name)]:
			// IAM role names are unique case-insensitively within an account.
			return fmt.Errorf("account %s role %q: listed twice (IAM role names are case-insensitive)", id, r.Name)
		}
		names[strings.ToLower(r.Name)] = true
	}
	urls := map[string]bool{}
	for i := range a.OIDCProviders {
		p := &a.OIDCProviders[i]
		if p.CreateDate.IsZero() {
			p.CreateDate = DefaultCreateDate()
		}
		switch {
		case !strings.HasPrefix(p.URL, "https://") || len(p.URL) <= len("https://"):
			return fmt.Errorf("account %s oidcProviders[%d]: url %q must be the issuer's https:// URL", id, i, p.URL)
		case len(p.ClientIDs) > 100:
			return fmt.Errorf("account %s provider %s: at most 100 clientIDs", id, p.URL)
		case len(p.Thumbprints) > 5:
			return fmt.Errorf("account %s provider %s: at most 5 thumbprints", id, p.URL)
		case urls[p.URL]:
			return fmt.Errorf("account %s provider %s: listed twice", id, p.URL)
		}
		for _, t := range p.Thumbprints {
			if !thumbRE.MatchString(t) {
				return fmt.Errorf("account %s provider %s: thumbprint %q must be 40 hex characters (a SHA-1)", id, p.URL, t)
			}
		}
		urls[p.URL] = true
	}
	return nil
}

// ValidRoleName reports whether name follows IAM's roleNameType: 1-64 of letters, digits and +=,.@_-.
func ValidRoleName(name string) bool { return roleNameRE.MatchString(name) }

// ValidAccount reports whether id is a 12-digit AWS account ID.
func ValidAccount(id string) bool { return accountRE.MatchString(id) }
