package validators

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// PropagationWindow is how long after creation an IAM role or OIDC provider may still be
// invisible to STS: IAM's control plane replicates to regional data planes eventually, usually
// within seconds and rarely within a minute
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency). A young object that
// looks broken is reported as "may still be propagating", not as a certain failure.
const PropagationWindow = 2 * time.Minute

// RoleFacts is what iam:GetRole said about the annotated role.
type RoleFacts struct {
	ARN        string        // Role.Arn exactly as IAM returned it
	Trust      TrustDocument // AssumeRolePolicyDocument
	CreateDate time.Time     // zero when unknown
}

// TrustDocument is a role's trust policy as IAM stores it: the text (URL-decoded exactly once)
// and what it means. IAM validates trust policies when they are written, so a stored document
// irsa-guard cannot parse is irsa-guard's blind spot (Err), never a reason to deny.
type TrustDocument struct {
	Text   string
	Policy *trustpolicy.Policy // nil when Err or Unknown is set
	Err    error
	// Unknown says what a trust policy that is not known yet depends on: a role that
	// infrastructure as code is about to create, whose trust holds a value known only at deploy
	// ("Fn::GetAtt Cluster.OpenIdConnectIssuerUrl"). Its outcome could not be verified.
	Unknown string
}

// ParseTrustDocument reads a stored trust policy; a document that does not parse keeps its error.
func ParseTrustDocument(text string) TrustDocument {
	p, err := trustpolicy.Parse([]byte(text))
	if err != nil {
		return TrustDocument{Text: text, Err: err}
	}
	return TrustDocument{Text: text, Policy: p}
}

// ProviderFacts is what iam:GetOpenIDConnectProvider said about the cluster's provider in the
// role's account.
type ProviderFacts struct {
	ARN         string
	ClientIDs   []string
	Thumbprints []string // 40 hex digits each, any case
	CreateDate  time.Time
}

// ChainFacts is the TLS chain served by the host of the issuer's jwks_uri, which is what STS
// compares a provider's thumbprints with.
type ChainFacts struct {
	Host            string // jwks_uri host[:port]
	Thumbprint      string // hex SHA-1 of the last certificate served (the "top intermediate")
	PubliclyTrusted bool   // the chain verifies against public root CAs
}

// Unverified is one fact irsa-guard could not establish, and why ("throttled by IAM").
type Unverified struct {
	What   string // "role", "OIDC provider", "thumbprint", "account 111122223333"
	Reason string
	// Fix replaces the catalog's fix (check irsa-guard's AWS access) where the source knows a
	// better one: a value to give, for a fact of infrastructure as code known only at deploy.
	Fix string
}

// StaleFact says a fact came from a cache entry older than its TTL because a refresh failed.
type StaleFact struct {
	What   string
	Age    time.Duration
	Reason string
}

// AWSFacts is everything the AWS-backed checks need about one Identity, already fetched. A nil
// Role or Provider with its NotFound flag unset means "unknown" (see Unverified): no finding
// is made from what irsa-guard does not know.
type AWSFacts struct {
	Now              time.Time // for the propagation window
	Partition        string    // the role ARN's partition
	Role             *RoleFacts
	RoleNotFound     bool
	Provider         *ProviderFacts
	ProviderNotFound bool
	Chain            *ChainFacts
	Unverified       []Unverified
	Stale            []StaleFact
}

// CheckAWS turns already-fetched AWS facts about id into findings: IRSA010-011 for the role,
// IRSA020-022 for the OIDC provider, IRSA030-035 from the trust policy via CheckTrust, and an
// info IRSA090 for every fact it could not verify or served stale, so callers can fail open.
func CheckAWS(id Identity, f AWSFacts) []Finding {
	var out []Finding
	for _, u := range mergeUnverified(f.Unverified) {
		finding := NewFinding(CheckCouldNotVerify, id.Object, fmt.Sprintf("could not verify the %s (%s)", u.What, u.Reason))
		if u.Fix != "" {
			finding = finding.WithFix(u.Fix)
		}
		out = append(out, finding)
	}
	for _, s := range f.Stale {
		note := NewFinding(CheckCouldNotVerify, id.Object,
			fmt.Sprintf("used %s data cached %s ago: refresh failed (%s)", s.What, s.Age.Round(time.Second), s.Reason))
		note.Stale = true
		out = append(out, note)
	}
	out = append(out, checkRole(id, f)...)
	out = append(out, checkProvider(id, f)...)
	return out
}

func checkRole(id Identity, f AWSFacts) []Finding {
	if f.RoleNotFound {
		r, _ := ParseRoleARN(id.RoleARN)
		return []Finding{NewFinding(CheckRoleNotFound, id.Object,
			fmt.Sprintf("IAM role %s does not exist in account %s", Quote(r.Name, 64), r.Account))}
	}
	if f.Role == nil {
		return nil
	}
	var out []Finding
	if f.Role.ARN != id.RoleARN {
		out = append(out, NewFinding(CheckRoleARNMismatch, id.Object,
			fmt.Sprintf("role-arn differs from the role's real ARN %s", Quote(f.Role.ARN, 80))).
			WithFix(fmt.Sprintf("Set eks.amazonaws.com/role-arn to exactly %s.", f.Role.ARN)))
	}
	var trust []Finding
	if why := f.Role.Trust.Unknown; why != "" {
		trust = []Finding{NewFinding(CheckCouldNotVerify, id.Object, "could not verify the trust policy: it depends on "+why).
			WithFix("Nothing to fix in the object. The trust depends on " + why + ": give those values (lint --iac-param, --account, --partition, --region), or check again once the IaC is deployed.")}
	} else if err := f.Role.Trust.Err; err != nil {
		trust = []Finding{NewFinding(CheckCouldNotVerify, id.Object, "cannot read the trust policy: "+err.Error()).
			WithFix("Nothing to fix in the object if IAM accepted the policy; report the policy shape to irsa-guard: " + err.Error())}
	} else {
		in := id.TrustInput(f.Role.Trust.Policy)
		if in.Call.Now.IsZero() {
			in.Call.Now = f.Now
		}
		trust = CheckTrust(id.Object, in)
	}
	return append(out, propagating(trust, "role", f.Role.CreateDate, f.Now)...)
}

func checkProvider(id Identity, f AWSFacts) []Finding {
	if f.ProviderNotFound {
		msg := strings.Replace(STSNoOIDCProvider, "<issuer>", id.Issuer, 1)
		r, _ := ParseRoleARN(id.RoleARN)
		return []Finding{NewFinding(CheckProviderMissing, id.Object,
			fmt.Sprintf("no IAM OIDC provider for the cluster's issuer in the role's account %s", r.Account)).WithPredictedError(msg).
			WithFix(providerFix(id, r.Account))}
	}
	if f.Provider == nil {
		return nil
	}
	var out []Finding
	aud := id.EffectiveAudience()
	if !slices.Contains(f.Provider.ClientIDs, aud) {
		out = append(out, NewFinding(CheckProviderAudience, id.Object,
			fmt.Sprintf("OIDC provider's client IDs lack the token audience %s", Quote(aud, 60))).
			WithFix(fmt.Sprintf("Run aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s.", f.Provider.ARN, aud)))
	}
	if c := f.Chain; c != nil && !containsFold(f.Provider.Thumbprints, c.Thumbprint) {
		out = append(out, thumbprintFinding(id, f, c))
	}
	return propagating(out, "OIDC provider", f.Provider.CreateDate, f.Now)
}

// thumbprintFinding reports a provider whose thumbprints do not match the jwks_uri host's chain.
// IAM documents that when that chain is signed by a CA AWS trusts, the thumbprint is not used
// ("only then we secure communication using the thumbprints"): in the commercial partition
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html)
// and in China (https://docs.amazonaws.cn/en_us/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html).
// So a mismatch on a publicly trusted chain is a warning; where the partition's documentation says
// nothing, irsa-guard cannot tell and says so, still as a warning, never an error. Only a chain no
// public CA signs makes STS rely on the thumbprint: then the mismatch is certain to fail.
func thumbprintFinding(id Identity, f AWSFacts, c *ChainFacts) Finding {
	fix := fmt.Sprintf("Run aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn %s --thumbprint-list %s.", f.Provider.ARN, c.Thumbprint)
	switch {
	case c.PubliclyTrusted && thumbprintIgnoredOnPublicChains(f.Partition):
		return NewFinding(CheckProviderThumbprint, id.Object,
			fmt.Sprintf("thumbprints do not match %s (public CA: AWS ignores them)", c.Host)).
			WithSeverity(SeverityWarning).WithPredictedError("").WithFix(fix)
	case c.PubliclyTrusted:
		return NewFinding(CheckProviderThumbprint, id.Object,
			fmt.Sprintf("thumbprints do not match %s (public CA; could not verify %s ignores them)", c.Host, f.Partition)).
			WithSeverity(SeverityWarning).WithFix(fix)
	}
	return NewFinding(CheckProviderThumbprint, id.Object,
		fmt.Sprintf("thumbprints do not match %s (private CA: STS will reject tokens)", c.Host)).
		WithSeverity(SeverityError).WithFix(fix)
}

// thumbprintIgnoredOnPublicChains reports the partitions whose IAM documentation says thumbprints
// are not used for a chain signed by a CA AWS trusts (see thumbprintFinding).
func thumbprintIgnoredOnPublicChains(partition string) bool {
	return partition == "aws" || partition == "aws-cn"
}

// propagating downgrades error findings about an object created within PropagationWindow of
// now to warnings that say so: the object may just not have reached STS's data plane yet.
func propagating(fs []Finding, what string, created, now time.Time) []Finding {
	if created.IsZero() || now.Sub(created) >= PropagationWindow || now.Before(created.Add(-time.Minute)) {
		return fs
	}
	for i, f := range fs {
		if f.Severity == SeverityError {
			f.Severity = SeverityWarning
			f.Message = SanitizeMessage(what+" created under 2m ago, may still be propagating: "+f.Message, MaxMessageRunes-len(f.Check)-2)
			fs[i] = f
		}
	}
	return fs
}

// mergeUnverified folds facts that failed for the same reason into one entry ("the role and
// OIDC provider"), so one outage costs one line of a response's five warnings, not three.
func mergeUnverified(us []Unverified) []Unverified {
	var out []Unverified
	index := map[string]int{}
	for _, u := range us {
		if i, ok := index[u.Reason]; ok && out[i].Fix == u.Fix {
			out[i].What += " and " + u.What
			continue
		}
		index[u.Reason] = len(out)
		out = append(out, u)
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), s) })
}

// providerFix says how to create the missing provider: eksctl in the cluster's own account when
// the cluster is known, and the IAM call that works in any account (a cross-account role's
// account needs its own provider). IAM no longer needs a thumbprint for an EKS issuer:
// https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html
func providerFix(id Identity, account string) string {
	create := fmt.Sprintf("aws iam create-open-id-connect-provider --url %s --client-id-list %s", id.Issuer, id.EffectiveAudience())
	if id.Cluster == "" {
		return fmt.Sprintf("Create an IAM OIDC provider for %s in account %s: %s (or eksctl utils associate-iam-oidc-provider --cluster CLUSTER --approve in the cluster's account).", id.Issuer, account, create)
	}
	return fmt.Sprintf("Create an IAM OIDC provider for %s in account %s: eksctl utils associate-iam-oidc-provider --cluster %s --approve, or with credentials for account %s: %s.", id.Issuer, account, id.Cluster, account, create)
}
