package iac

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The Terraform plan's JSON representation (`terraform show -json PLAN`), as documented in
// https://developer.hashicorp.com/terraform/internals/json-format: the planned state of every
// resource under planned_values (values unknown until apply are omitted there), and each
// resource's change under resource_changes, whose after_unknown marks with true every value that
// is known only after apply.
type tfPlan struct {
	FormatVersion string `json:"format_version"`
	PlannedValues *struct {
		RootModule tfModule `json:"root_module"`
	} `json:"planned_values"`
	ResourceChanges []tfChange `json:"resource_changes"`
}

type tfModule struct {
	Resources    []tfResource `json:"resources"`
	ChildModules []tfModule   `json:"child_modules"`
}

type tfResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Values  map[string]any `json:"values"`
}

type tfChange struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	Change  struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown any            `json:"after_unknown"`
	} `json:"change"`
}

// The resource types irsa-guard reads from a plan
// (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role,
// https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_openid_connect_provider).
const (
	tfRole     = "aws_iam_role"
	tfProvider = "aws_iam_openid_connect_provider"
)

// looksLikeTerraformPlan reports whether data is a JSON object with a plan's top-level keys.
func looksLikeTerraformPlan(data []byte) bool {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimmed, &top) != nil {
		// Broken JSON that names a plan's format version is a broken plan: say so as one.
		return bytes.Contains(trimmed[:min(len(trimmed), 4096)], []byte(`"format_version"`))
	}
	_, format := top["format_version"]
	_, planned := top["planned_values"]
	_, changes := top["resource_changes"]
	return format && (planned || changes)
}

// ParseTerraformPlan reads a plan's IAM roles and OIDC providers: from resource_changes, where
// the plan has them (a role the plan destroys is marked Deleted), else from planned_values.
func ParseTerraformPlan(data []byte, source string, p Params) (*Set, error) {
	var plan tfPlan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("%s: not a Terraform plan in JSON (terraform show -json PLAN): %w", source, err)
	}
	set := &Set{}
	if len(plan.ResourceChanges) > 0 {
		for i, c := range plan.ResourceChanges {
			if c.Mode != "managed" || (c.Type != tfRole && c.Type != tfProvider) {
				continue
			}
			if isForget(c.Change.Actions) {
				continue // removed from state, not destroyed: the plan no longer manages it
			}
			deleted := len(c.Change.Actions) == 1 && c.Change.Actions[0] == "delete"
			after := c.Change.After
			if deleted {
				after = map[string]any{}
			}
			unknown, _ := c.Change.AfterUnknown.(map[string]any)
			r := tfValues{source: source, address: c.Address, values: after, unknown: unknown}
			if c.Address == "" {
				return nil, fmt.Errorf("%s: resource_changes[%d] has no address", source, i)
			}
			if err := r.add(set, c.Type, p, deleted); err != nil {
				return nil, err
			}
		}
		return set, nil
	}
	if plan.PlannedValues == nil {
		return nil, fmt.Errorf("%s: a Terraform plan needs planned_values or resource_changes (terraform show -json PLAN)", source)
	}
	var walk func(m tfModule) error
	walk = func(m tfModule) error {
		for _, res := range m.Resources {
			if res.Mode != "managed" || (res.Type != tfRole && res.Type != tfProvider) {
				continue
			}
			// planned_values omits what is known only after apply: an absent key is unknown.
			r := tfValues{source: source, address: res.Address, values: res.Values, absentUnknown: true}
			if err := r.add(set, res.Type, p, false); err != nil {
				return err
			}
		}
		for _, child := range m.ChildModules {
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	return set, walk(plan.PlannedValues.RootModule)
}

func isForget(actions []string) bool {
	return len(actions) == 1 && actions[0] == "forget"
}

// tfValues is one resource's planned values and which of them are unknown until apply.
type tfValues struct {
	source, address string
	values          map[string]any
	unknown         map[string]any // after_unknown
	absentUnknown   bool           // planned_values: a missing key is unknown
}

func (r tfValues) add(set *Set, typ string, p Params, deleted bool) error {
	where := Location{File: r.source, Resource: r.address}
	account, partition := r.arnAccount(p)
	switch typ {
	case tfRole:
		role := Role{Where: where, Account: account, Partition: partition, Deleted: deleted}
		role.Name = r.str("name", "")
		if role.Name.Known() && role.Name.S == "" && !deleted {
			role.Name = Value{Unknown: r.address + ".name (generated at apply)"}
		}
		role.Path = r.str("path", "/")
		role.Trust = r.str("assume_role_policy", "")
		if role.Trust.Known() && role.Trust.S == "" && !deleted {
			return fmt.Errorf("%s: %s: assume_role_policy is empty; a role needs a trust policy", r.source, r.address)
		}
		set.Roles = append(set.Roles, role)
	case tfProvider:
		prov := Provider{Where: where, Account: account, Partition: partition, Deleted: deleted}
		prov.URL = r.str("url", "")
		u := unknowns{}
		var err error
		if prov.ClientIDs, err = r.list("client_id_list", u); err != nil {
			return err
		}
		if r.isUnknown("thumbprint_list") {
			prov.ThumbprintsAtApply = true
		} else if prov.Thumbprints, err = r.list("thumbprint_list", u); err != nil {
			return err
		}
		prov.ListsUnknown = u.String()
		set.Providers = append(set.Providers, prov)
	}
	return nil
}

// arnAccount is the account and partition of the resource's ARN when the plan knows it (a
// resource that exists), else the ones given as flags.
func (r tfValues) arnAccount(p Params) (account, partition Value) {
	account, partition = known(p.Account), known(p.Partition)
	if p.Account == "" {
		account = Value{Unknown: "the account of " + r.address + " (give --account)"}
	}
	if p.Partition == "" {
		partition = Value{Unknown: "the partition of " + r.address + " (give --partition)"}
	}
	if arn, ok := r.values["arn"].(string); ok && !r.isUnknown("arn") {
		if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[0] == "arn" {
			return known(parts[4]), known(parts[1])
		}
	}
	return account, partition
}

func (r tfValues) isUnknown(key string) bool {
	if b, ok := r.unknown[key].(bool); ok && b {
		return true
	}
	_, present := r.values[key]
	return r.absentUnknown && !present
}

// str is a string attribute; def when it is null.
func (r tfValues) str(key, def string) Value {
	if r.isUnknown(key) {
		return Value{Unknown: r.address + "." + key + " (known after apply)"}
	}
	switch v := r.values[key].(type) {
	case nil:
		return known(def)
	case string:
		if v == "" && def != "" {
			return known(def)
		}
		return known(v)
	}
	return Value{Unknown: r.address + "." + key + " (not a string)"}
}

// list is a list of strings; items unknown until apply are left out and noted in u.
func (r tfValues) list(key string, u unknowns) ([]string, error) {
	if r.isUnknown(key) {
		u.add(r.address + "." + key + " (known after apply)")
		return nil, nil
	}
	raw, ok := r.values[key].([]any)
	if !ok {
		if r.values[key] == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %s.%s: want a list of strings", r.source, r.address, key)
	}
	itemUnknown, _ := r.unknown[key].([]any)
	var out []string
	for i, x := range raw {
		if i < len(itemUnknown) {
			if b, ok := itemUnknown[i].(bool); ok && b {
				u.add(fmt.Sprintf("%s.%s[%d] (known after apply)", r.address, key, i))
				continue
			}
		}
		s, ok := x.(string)
		if !ok {
			if x == nil && i < len(itemUnknown) {
				continue
			}
			return nil, fmt.Errorf("%s: %s.%s[%d]: want a string", r.source, r.address, key, i)
		}
		out = append(out, s)
	}
	// after_unknown can also list unknown items beyond the known ones.
	for i := len(raw); i < len(itemUnknown); i++ {
		if b, ok := itemUnknown[i].(bool); ok && b {
			u.add(fmt.Sprintf("%s.%s[%d] (known after apply)", r.address, key, i))
		}
	}
	return out, nil
}
