package iac

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CloudFormation resource types irsa-guard reads. The CDK's iam.OpenIdConnectProvider (and
// eks.OpenIdConnectProvider, which extends it) synthesizes to a custom resource whose handler
// creates the provider from the same three properties and answers Ref with its ARN
// (https://github.com/aws/aws-cdk/blob/v2.276.0/packages/%40aws-cdk/custom-resource-handlers/lib/aws-iam/oidc-handler/index.ts).
// CfnJson synthesizes to Custom::AWSCDKCfnJson, whose attribute Value is JSON.parse of its Value
// property (https://github.com/aws/aws-cdk/blob/v2.276.0/packages/%40aws-cdk/custom-resource-handlers/lib/core/cfn-utils-provider/index.ts):
// the CDK's way to put a token (the cluster's issuer) into a condition key.
const (
	typeRole             = "AWS::IAM::Role"
	typeOIDCProvider     = "AWS::IAM::OIDCProvider"
	typeCDKOIDCProvider  = "Custom::AWSCDKOpenIdConnectProvider"
	typeCDKCfnJSON       = "Custom::AWSCDKCfnJson"
	maxEvalDepth         = 48
	maxEvalSteps         = 1_000_000 // per template: references can fan out, and templates are untrusted
	maxTemplateNodes     = 500_000
	generatedNameUnknown = "no RoleName: CloudFormation generates the name"
)

// template is a parsed CloudFormation template and what irsa-guard knows about its deployment.
type template struct {
	source     string
	params     Params
	parameters map[string]bool
	mappings   map[string]any
	resources  map[string]*resource
	steps      int
}

type resource struct {
	id, typ   string
	line      int
	condition string
	props     map[string]any
}

// noValue is what Ref AWS::NoValue leaves: the property or list item is removed.
type noValue struct{}

// ParseCloudFormation reads a CloudFormation template in JSON or YAML, short-form tags (!Ref,
// !Sub, !GetAtt, !Join, ...) included, and returns its IAM roles and OIDC providers with the
// intrinsic functions resolved where their inputs are known.
func ParseCloudFormation(data []byte, source string, p Params) (*Set, error) {
	doc, err := decodeTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a CloudFormation template (the document is not a mapping) nor a Terraform plan (terraform show -json PLAN)", source)
	}
	resources, ok := root["Resources"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a CloudFormation template (no Resources mapping) nor a Terraform plan (terraform show -json PLAN)", source)
	}
	t := &template{source: source, params: p, parameters: map[string]bool{}, resources: map[string]*resource{}}
	if params, ok := root["Parameters"].(map[string]any); ok {
		for name := range params {
			t.parameters[name] = true
		}
	}
	t.mappings, _ = root["Mappings"].(map[string]any)
	for id, raw := range resources {
		r, err := t.readResource(id, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		t.resources[id] = r
	}
	return t.extract()
}

func (t *template) readResource(id string, raw any) (*resource, error) {
	var line int
	if l, ok := raw.(located); ok {
		raw, line = l.v, l.line
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a mapping with Type and Properties", "Resources."+id)
	}
	typ, ok := m["Type"].(string)
	if !ok {
		return nil, fmt.Errorf("%s.Type: want a string such as AWS::IAM::Role", "Resources."+id)
	}
	r := &resource{id: id, typ: typ, line: line, props: map[string]any{}}
	if c, ok := m["Condition"]; ok {
		if r.condition, ok = c.(string); !ok {
			return nil, fmt.Errorf("%s.Condition: want a condition name", "Resources."+id)
		}
	}
	if props, ok := m["Properties"]; ok && props != nil {
		if r.props, ok = props.(map[string]any); !ok {
			return nil, fmt.Errorf("%s.Properties: want a mapping", "Resources."+id)
		}
	}
	return r, nil
}

// extract reads the roles and providers, in logical-ID order so output is stable.
func (t *template) extract() (*Set, error) {
	ids := make([]string, 0, len(t.resources))
	for id := range t.resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	set := &Set{}
	for _, id := range ids {
		r := t.resources[id]
		where := Location{File: t.source, Line: r.line, Resource: r.typ + " " + id}
		switch r.typ {
		case typeRole:
			role := Role{Where: where, Condition: r.condition, Account: t.pseudo("AWS::AccountId"), Partition: t.pseudo("AWS::Partition")}
			var err error
			if role.Name, err = t.roleName(r); err != nil {
				return nil, fmt.Errorf("%s: Resources.%s.Properties.RoleName: %w", t.source, id, err)
			}
			if role.Path, err = t.rolePath(r); err != nil {
				return nil, fmt.Errorf("%s: Resources.%s.Properties.Path: %w", t.source, id, err)
			}
			doc, ok := r.props["AssumeRolePolicyDocument"]
			if !ok {
				return nil, fmt.Errorf("%s: Resources.%s.Properties.AssumeRolePolicyDocument is missing; a role needs a trust policy", t.source, id)
			}
			trust, err := t.document(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: Resources.%s.Properties.AssumeRolePolicyDocument: %w", t.source, id, err)
			}
			role.Trust = trust
			set.Roles = append(set.Roles, role)
		case typeOIDCProvider, typeCDKOIDCProvider:
			p, err := t.provider(r, where)
			if err != nil {
				return nil, fmt.Errorf("%s: Resources.%s.Properties.%w", t.source, id, err)
			}
			set.Providers = append(set.Providers, p)
		}
	}
	return set, nil
}

func (t *template) roleName(r *resource) (Value, error) {
	raw, ok := r.props["RoleName"]
	if !ok {
		return Value{Unknown: generatedNameUnknown}, nil
	}
	v, err := t.stringValue(raw)
	if err == nil && v.Known() && v.S == "" {
		return v, fmt.Errorf("empty; IAM role names have 1-64 characters (leave RoleName out to let CloudFormation generate one)")
	}
	return v, err
}

func (t *template) rolePath(r *resource) (Value, error) {
	raw, ok := r.props["Path"]
	if !ok {
		return known("/"), nil
	}
	return t.stringValue(raw)
}

// provider reads an OIDC provider's URL and lists; the CDK's property is ClientIDList, the
// native resource's ClientIdList.
func (t *template) provider(r *resource, where Location) (Provider, error) {
	p := Provider{Where: where, Condition: r.condition, Account: t.pseudo("AWS::AccountId"), Partition: t.pseudo("AWS::Partition")}
	raw, ok := r.props["Url"]
	if !ok {
		return p, fmt.Errorf("%s is missing; an OIDC provider needs its issuer URL", "Url")
	}
	var err error
	if p.URL, err = t.stringValue(raw); err != nil {
		return p, fmt.Errorf("%s: %w", "Url", err)
	}
	u := unknowns{}
	clientKey := "ClientIdList"
	if r.typ == typeCDKOIDCProvider {
		clientKey = "ClientIDList"
	}
	if p.ClientIDs, err = t.stringList(r.props[clientKey], u); err != nil {
		return p, fmt.Errorf("%s: %w", clientKey, err)
	}
	if _, ok := r.props["ThumbprintList"]; !ok {
		p.ThumbprintsAtApply = true
	} else if p.Thumbprints, err = t.stringList(r.props["ThumbprintList"], u); err != nil {
		return p, fmt.Errorf("ThumbprintList: %w", err)
	}
	p.ListsUnknown = u.String()
	return p, nil
}

// stringValue resolves a property that must be a string.
func (t *template) stringValue(raw any) (Value, error) {
	u := unknowns{}
	v := t.eval(raw, u, 0)
	s, ok := scalarString(v)
	if !ok {
		return Value{}, fmt.Errorf("want a string")
	}
	if len(u) > 0 {
		return Value{S: s, Unknown: u.String()}, nil
	}
	return known(s), nil
}

// stringList resolves a list of strings; unknown items are left out and noted in u.
func (t *template) stringList(raw any, u unknowns) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	item := unknowns{}
	v := t.eval(raw, item, 0)
	list, ok := v.([]any)
	if !ok {
		if s, isStr := v.(string); isStr && HasPlaceholder(s) {
			u.add(item.String())
			return nil, nil
		}
		return nil, fmt.Errorf("want a list of strings")
	}
	var out []string
	for _, x := range list {
		s, ok := scalarString(x)
		if !ok {
			return nil, fmt.Errorf("want a list of strings")
		}
		if HasPlaceholder(s) {
			continue
		}
		out = append(out, s)
	}
	if len(item) > 0 {
		u.add(item.String())
	}
	return out, nil
}

// document resolves a policy document (a mapping, or a JSON string, as CloudFormation accepts)
// to its JSON text.
func (t *template) document(raw any) (Value, error) {
	u := unknowns{}
	v := t.eval(raw, u, 0)
	var text string
	switch d := v.(type) {
	case string:
		text = d
	case map[string]any:
		b, err := json.Marshal(d)
		if err != nil {
			return Value{}, err
		}
		text = string(b)
	default:
		return Value{}, fmt.Errorf("want a policy document (a mapping or a JSON string)")
	}
	if len(u) > 0 {
		return Value{S: text, Unknown: u.String()}, nil
	}
	return known(text), nil
}

// pseudo is a pseudo parameter's value from the flags, or unknown.
func (t *template) pseudo(name string) Value {
	u := unknowns{}
	s, _ := scalarString(t.ref(name, u, 0))
	if len(u) > 0 {
		return Value{S: s, Unknown: u.String()}
	}
	return known(s)
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return fmt.Sprint(x), true
	case int, int64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

// located is a resource body with the line it starts on (YAML and JSON parsed by the YAML decoder).
type located struct {
	v    any
	line int
}

// decodeTemplate parses YAML (JSON is YAML) into maps, lists and scalars, turning short-form tags
// into the long form ("!Ref X" is {"Ref": "X"}, "!GetAtt A.B" is {"Fn::GetAtt": "A.B"}) and keeping
// each resource's line. JSON that the YAML decoder refuses (tabs before a key, say) is read as JSON
// without lines.
func decodeTemplate(data []byte) (any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var v any
			if jerr := dec.Decode(&v); jerr == nil {
				return v, nil
			}
		}
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	c := converter{}
	v, err := c.convert(root.Content[0], 0)
	if err != nil {
		return nil, err
	}
	// Keep the resources' lines.
	if m, ok := v.(map[string]any); ok {
		if res, ok := m["Resources"].(map[string]any); ok {
			if node := mappingValue(root.Content[0], "Resources"); node != nil && node.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(node.Content); i += 2 {
					if r, ok := res[node.Content[i].Value]; ok {
						res[node.Content[i].Value] = located{v: r, line: node.Content[i].Line}
					}
				}
			}
		}
	}
	return v, nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// converter turns YAML nodes into values, bounding the work an alias-heavy document can cause.
type converter struct{ nodes int }

func (c *converter) convert(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxTemplateNodes || depth > 200 {
		return nil, fmt.Errorf("line %d: the document is too large or too deeply nested", n.Line)
	}
	v, err := c.plain(n, depth)
	if err != nil {
		return nil, err
	}
	tag := n.Tag
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return v, nil
	}
	// Short form: !Ref and !Condition keep their names, the others are Fn::<name>
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html).
	switch name := tag[1:]; name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

func (c *converter) plain(n *yaml.Node, depth int) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return c.convert(n.Alias, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a string", k.Line)
			}
			v, err := c.convert(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!binary":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return n.Value, nil //nolint:nilerr // a scalar YAML cannot type is kept as text
			}
			return v, nil
		}
		return n.Value, nil // the scalar of a short-form tag (!Ref Name)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}
