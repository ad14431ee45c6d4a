// Package iac reads the IAM roles and OIDC providers that infrastructure as code is about to
// create — CloudFormation templates (hand-written or from `cdk synth`) and Terraform plans
// (`terraform show -json PLAN`) — so that `irsa-guard lint --iac` can check manifests against the
// IAM of the same change. Everything it reads is untrusted input: it never panics, bad input is an
// error naming the file and the field, and a value that is not known before deploy (a parameter
// not given, an attribute of another resource, a value Terraform knows only after apply) is kept
// as unknown with what it depends on, never guessed.
package iac

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// MaxInputBytes bounds one IaC file: a synthesized template or a plan larger than this is not
// something to read whole into memory.
const MaxInputBytes = 64 << 20

// Value is a string from IaC: known (S), or not known before deploy (Unknown says on what it
// depends, e.g. "Fn::GetAtt Cluster.OpenIdConnectIssuerUrl"). A JSON document with unknown parts
// keeps them in S as placeholders (see Placeholder), so what is known can still be read.
type Value struct {
	S       string
	Unknown string
}

// Known reports whether the value is fully known.
func (v Value) Known() bool { return v.Unknown == "" }

// known is a fully known Value.
func known(s string) Value { return Value{S: s} }

// Placeholder stands for an unknown piece inside a string: it contains no JSON special character,
// so a JSON document with unknown values still parses.
func Placeholder(what string) string { return "{{unknown " + what + "}}" }

// HasPlaceholder reports whether s holds an unknown piece.
func HasPlaceholder(s string) bool { return strings.Contains(s, "{{unknown ") }

// Location says where a resource is defined: the file, the line where known (0 for a Terraform
// plan), and the resource as the tool names it ("AWS::IAM::Role AppRole", "aws_iam_role.app").
type Location struct {
	File     string
	Line     int
	Resource string
}

func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d %s", l.File, l.Line, l.Resource)
	}
	return l.File + " " + l.Resource
}

// Role is an IAM role the IaC defines.
type Role struct {
	Where Location
	// Name is the role's name; unknown when the tool generates it (CloudFormation without
	// RoleName, Terraform's name_prefix) or it depends on an unknown value.
	Name Value
	Path Value // "/" when the IaC sets none, as IAM defaults it
	// Trust is the trust policy document (AssumeRolePolicyDocument, assume_role_policy) as JSON.
	Trust Value
	// Account and Partition are where the role is created: known from the plan's ARN, or from
	// the pseudo parameters given (Params); unknown otherwise.
	Account, Partition Value
	// Condition is a CloudFormation condition the resource depends on: it may not be created at all.
	Condition string
	// Deleted means the plan destroys the role without creating it again.
	Deleted bool
}

// Provider is an IAM OIDC identity provider the IaC defines.
type Provider struct {
	Where              Location
	URL                Value // as written, with or without https://
	ClientIDs          []string
	Thumbprints        []string
	ListsUnknown       string // what the client ID or thumbprint lists depend on, "" when known
	ThumbprintsAtApply bool   // no thumbprint list: the tool (CDK's handler) fetches it at deploy
	Account, Partition Value
	Condition          string
	Deleted            bool
}

// Set is what a collection of IaC files defines.
type Set struct {
	Roles     []Role
	Providers []Provider
}

// Params are the values irsa-guard knows about the deployment: CloudFormation parameters given
// with --iac-param, and the pseudo parameters AWS::AccountId, AWS::Partition and AWS::Region from
// --account, --partition and --region. A pseudo parameter may be given in Values too, and another
// stack's export as "Fn::ImportValue:NAME".
type Params struct {
	Values                     map[string]string
	Account, Partition, Region string
}

// Load reads one IaC file: a Terraform plan in JSON (it has "format_version" and
// "planned_values" or "resource_changes"), else a CloudFormation template in JSON or YAML (it has
// "Resources").
func Load(path string, p Params) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(data, path, p)
}

// Parse reads one IaC document; source names it in errors and locations.
func Parse(data []byte, source string, p Params) (*Set, error) {
	if looksLikeTerraformPlan(data) {
		return ParseTerraformPlan(data, source, p)
	}
	return ParseCloudFormation(data, source, p)
}

// Merge combines sets read from several files.
func Merge(sets ...*Set) *Set {
	out := &Set{}
	for _, s := range sets {
		if s == nil {
			continue
		}
		out.Roles = append(out.Roles, s.Roles...)
		out.Providers = append(out.Providers, s.Providers...)
	}
	return out
}

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("larger than %d MiB", MaxInputBytes>>20)
	}
	return data, nil
}

// unknowns collects what a value depends on, in a stable order without repeats.
type unknowns map[string]bool

func (u unknowns) add(what ...string) {
	for _, w := range what {
		u[w] = true
	}
}

func (u unknowns) String() string {
	list := make([]string, 0, len(u))
	for w := range u {
		list = append(list, w)
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}
