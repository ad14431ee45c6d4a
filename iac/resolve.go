package iac

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// eval resolves the intrinsic functions in v where their inputs are known
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
// What is not known before deploy becomes a Placeholder naming it, and is added to u; nothing is
// guessed. Conditions (Fn::If) are not evaluated: their result is unknown.
func (t *template) eval(v any, u unknowns, depth int) any {
	t.steps++
	if depth > maxEvalDepth || t.steps > maxEvalSteps {
		return t.unknown(u, "a value nested too deeply or too large to resolve (a reference cycle?)")
	}
	switch x := v.(type) {
	case located:
		return t.eval(x.v, u, depth+1)
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			r := t.eval(item, u, depth+1)
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return t.intrinsic(k, arg, u, depth+1)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			r := t.eval(item, u, depth+1)
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out
	}
	return v
}

func (t *template) unknown(u unknowns, what string) string {
	u.add(what)
	return Placeholder(what)
}

func (t *template) intrinsic(fn string, arg any, u unknowns, depth int) any {
	switch fn {
	case "Ref":
		name, ok := t.eval(arg, u, depth).(string)
		if !ok {
			return t.unknown(u, "Ref of a non-string")
		}
		if HasPlaceholder(name) {
			return name
		}
		return t.ref(name, u, depth)
	case "Fn::GetAtt":
		return t.getAtt(arg, u, depth)
	case "Fn::Sub":
		return t.sub(arg, u, depth)
	case "Fn::Join":
		return t.join(arg, u, depth)
	case "Fn::Select":
		return t.selectFn(arg, u, depth)
	case "Fn::Split":
		return t.split(arg, u, depth)
	case "Fn::FindInMap":
		return t.findInMap(arg, u, depth)
	case "Fn::ToJsonString":
		inner := unknowns{}
		b, err := json.Marshal(t.eval(arg, inner, depth))
		u.add(keys(inner)...)
		if err != nil {
			return t.unknown(u, "Fn::ToJsonString")
		}
		return string(b)
	case "Fn::If":
		if list, ok := arg.([]any); ok && len(list) > 0 {
			if c, ok := list[0].(string); ok {
				return t.unknown(u, "Fn::If "+c)
			}
		}
		return t.unknown(u, "Fn::If")
	case "Fn::ImportValue":
		// Another stack's export: given as --iac-param Fn::ImportValue:NAME=VALUE.
		name, _ := scalarString(t.eval(arg, unknowns{}, depth))
		if v, ok := t.params.Values["Fn::ImportValue:"+name]; ok {
			return v
		}
		return t.unknown(u, "Fn::ImportValue "+name+" (give --iac-param Fn::ImportValue:"+name+"=VALUE)")
	}
	return t.unknown(u, fn)
}

// ref is a parameter's value (given with --iac-param), a pseudo parameter's (from the flags), or
// a resource's Ref value where irsa-guard knows what it is: a role's name and an OIDC
// provider's ARN (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html#aws-resource-iam-role-return-values,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-oidcprovider.html#aws-resource-iam-oidcprovider-return-values).
func (t *template) ref(name string, u unknowns, depth int) any {
	if v, ok := t.params.Values[name]; ok {
		return v
	}
	switch name {
	case "AWS::NoValue":
		return noValue{}
	case "AWS::AccountId":
		return t.given(t.params.Account, name, "--account", u)
	case "AWS::Partition":
		return t.given(t.params.Partition, name, "--partition", u)
	case "AWS::Region":
		return t.given(t.params.Region, name, "--region", u)
	case "AWS::URLSuffix":
		// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html#cfn-pseudo-param-urlsuffix
		switch t.params.Partition {
		case "aws", "aws-us-gov":
			return "amazonaws.com"
		case "aws-cn":
			return "amazonaws.com.cn"
		}
		return t.unknown(u, "AWS::URLSuffix (give --partition)")
	}
	if strings.HasPrefix(name, "AWS::") {
		return t.unknown(u, name+" (give --iac-param "+name+"=VALUE)")
	}
	if t.parameters[name] {
		return t.unknown(u, "parameter "+name+" (give --iac-param "+name+"=VALUE)")
	}
	r, ok := t.resources[name]
	if !ok {
		return t.unknown(u, "Ref "+name+" (not in the template)")
	}
	switch r.typ {
	case typeRole:
		return t.evalName(r, u, depth)
	case typeOIDCProvider, typeCDKOIDCProvider:
		return t.providerARN(r, u, depth)
	}
	return t.unknown(u, "Ref "+name+" ("+r.typ+")")
}

func (t *template) given(v, name, flag string, u unknowns) any {
	if v != "" {
		return v
	}
	return t.unknown(u, name+" (give "+flag+")")
}

func (t *template) evalName(r *resource, u unknowns, depth int) any {
	raw, ok := r.props["RoleName"]
	if !ok {
		return t.unknown(u, "the name of "+r.id+" ("+generatedNameUnknown+")")
	}
	return t.eval(raw, u, depth+1)
}

func (t *template) providerARN(r *resource, u unknowns, depth int) any {
	url, _ := scalarString(t.eval(r.props["Url"], u, depth+1))
	return "arn:" + t.str(t.ref("AWS::Partition", u, depth), u) + ":iam::" + t.str(t.ref("AWS::AccountId", u, depth), u) +
		":oidc-provider/" + strings.TrimPrefix(url, "https://")
}

// str is v as a string for concatenation; what is not a string is unknown.
func (t *template) str(v any, u unknowns) string {
	if s, ok := scalarString(v); ok {
		return s
	}
	return t.unknown(u, "a non-string value")
}

// getAtt knows a role's Arn, an OIDC provider's Arn and the Value of the CDK's CfnJson; every other
// attribute is known only after deploy.
func (t *template) getAtt(arg any, u unknowns, depth int) any {
	var id, attr string
	switch a := t.eval(arg, u, depth).(type) {
	case string:
		id, attr, _ = strings.Cut(a, ".")
	case []any:
		if len(a) == 2 {
			id, _ = a[0].(string)
			attr, _ = a[1].(string)
		}
	}
	what := "Fn::GetAtt " + id + "." + attr
	if HasPlaceholder(id) || HasPlaceholder(attr) {
		return t.unknown(u, "Fn::GetAtt of a name known after deploy")
	}
	r, ok := t.resources[id]
	if !ok || attr == "" {
		return t.unknown(u, what+" (not in the template)")
	}
	switch {
	case r.typ == typeRole && attr == "Arn":
		path, _ := scalarString(t.evalPath(r, u, depth))
		return "arn:" + t.str(t.ref("AWS::Partition", u, depth), u) + ":iam::" + t.str(t.ref("AWS::AccountId", u, depth), u) +
			":role" + path + t.str(t.evalName(r, u, depth), u)
	case (r.typ == typeOIDCProvider || r.typ == typeCDKOIDCProvider) && attr == "Arn":
		return t.providerARN(r, u, depth)
	case r.typ == typeCDKCfnJSON && attr == "Value":
		text, ok := t.eval(r.props["Value"], u, depth+1).(string)
		if !ok {
			return t.unknown(u, what+" (Value is not a JSON string)")
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return t.unknown(u, what+" (Value is not JSON)")
		}
		return v
	}
	return t.unknown(u, what)
}

func (t *template) evalPath(r *resource, u unknowns, depth int) any {
	raw, ok := r.props["Path"]
	if !ok {
		return "/"
	}
	return t.eval(raw, u, depth+1)
}

// sub resolves Fn::Sub's ${Name}, ${Resource.Attribute} and ${!Literal}
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html).
func (t *template) sub(arg any, u unknowns, depth int) any {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return t.unknown(u, "Fn::Sub with a malformed argument")
		}
		s, ok := t.eval(a[0], u, depth).(string)
		if !ok {
			return t.unknown(u, "Fn::Sub of a non-string")
		}
		text = s
		if m, ok := a[1].(map[string]any); ok {
			vars = m
		}
	default:
		return t.unknown(u, "Fn::Sub with a malformed argument")
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		rest := text[i+2:]
		if strings.HasPrefix(rest, "!") { // ${!Literal} is written as ${Literal}
			b.WriteString("${")
			text = rest[1:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			b.WriteString(text[i:])
			return b.String()
		}
		name := strings.TrimSpace(rest[:end])
		text = rest[end+1:]
		var v any
		switch raw, ok := vars[name]; {
		case ok:
			v = t.eval(raw, u, depth)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			v = t.getAtt(name, u, depth)
		default:
			v = t.ref(name, u, depth)
		}
		b.WriteString(t.str(v, u))
	}
}

func (t *template) join(arg any, u unknowns, depth int) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return t.unknown(u, "Fn::Join with a malformed argument")
	}
	delim, ok := t.eval(a[0], u, depth).(string)
	if !ok {
		return t.unknown(u, "Fn::Join with a non-string delimiter")
	}
	list, ok := t.eval(a[1], u, depth).([]any)
	if !ok {
		return t.unknown(u, "Fn::Join of a list known after deploy")
	}
	parts := make([]string, 0, len(list))
	for _, item := range list {
		parts = append(parts, t.str(item, u))
	}
	return strings.Join(parts, delim)
}

// selectFn picks an item; from a list built by Fn::Split of a string with unknown pieces, only
// items before the first unknown piece are known (an unknown value could hold the delimiter).
func (t *template) selectFn(arg any, u unknowns, depth int) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return t.unknown(u, "Fn::Select with a malformed argument")
	}
	inner := unknowns{}
	idxText, _ := scalarString(t.eval(a[0], inner, depth))
	idx, err := strconv.Atoi(idxText)
	list, ok := t.eval(a[1], inner, depth).([]any)
	if err != nil || !ok || idx < 0 || idx >= len(list) {
		u.add(keys(inner)...)
		return t.unknown(u, "Fn::Select of a list known after deploy")
	}
	for i := 0; i <= idx; i++ {
		if s, ok := list[i].(string); ok && HasPlaceholder(s) {
			u.add(keys(inner)...)
			if i == idx {
				return s
			}
			return t.unknown(u, "Fn::Select after an unknown item")
		}
	}
	return list[idx]
}

func (t *template) split(arg any, u unknowns, depth int) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return t.unknown(u, "Fn::Split with a malformed argument")
	}
	delim, ok := t.eval(a[0], u, depth).(string)
	s, ok2 := t.eval(a[1], u, depth).(string)
	if !ok || !ok2 || delim == "" {
		return t.unknown(u, "Fn::Split of a value known after deploy")
	}
	parts := strings.Split(s, delim)
	out := make([]any, 0, len(parts))
	for _, p := range parts {
		out = append(out, p)
	}
	return out
}

func (t *template) findInMap(arg any, u unknowns, depth int) any {
	a, ok := arg.([]any)
	if !ok || len(a) < 3 {
		return t.unknown(u, "Fn::FindInMap with a malformed argument")
	}
	var path []string
	for _, x := range a[:3] {
		s, ok := scalarString(t.eval(x, u, depth))
		if !ok || HasPlaceholder(s) {
			return t.unknown(u, "Fn::FindInMap with a key known after deploy")
		}
		path = append(path, s)
	}
	var v any = t.mappings
	for _, k := range path {
		m, _ := v.(map[string]any)
		var ok bool
		if v, ok = m[k]; !ok {
			return t.unknown(u, "Fn::FindInMap "+strings.Join(path, ".")+" (not in Mappings)")
		}
	}
	return t.eval(v, u, depth)
}

func keys(u unknowns) []string {
	out := make([]string, 0, len(u))
	for k := range u {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
