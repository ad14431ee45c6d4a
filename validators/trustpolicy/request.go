package trustpolicy

import (
	"slices"
	"strings"
)

// Request is the call being authorised, e.g. sts:AssumeRoleWithWebIdentity by a Federated
// principal (an OIDC provider ARN) with the token's claims as context keys.
//
// Every condition key is in one of three states: known (Context), present or possibly present but
// with a value only the service sees when the call is made (Unknown), or absent (neither). Keys
// are matched case-insensitively, as IAM does. In Unknown and Types, a key ending in "/*" stands
// for every key with that prefix, e.g. "aws:ResourceTag/*".
type Request struct {
	Action        string              // e.g. sts:AssumeRoleWithWebIdentity
	PrincipalType string              // Federated, AWS, Service or CanonicalUser
	Principal     string              // e.g. arn:aws:iam::111122223333:oidc-provider/oidc.eks...
	Context       map[string][]string // keys with known values; an empty list counts as absent
	Unknown       map[string]Unknown  // keys whose value is known only at call time
	// Types are the documented types of keys. A condition whose operator family does not fit its
	// key's type is undetermined: AWS does not document how IAM compares them. Keys without a type
	// are compared with the operator's own semantics.
	Types map[string]KeyType
}

// Unknown describes a key whose value only the service sees when the call is made.
type Unknown struct {
	DependsOn   string `json:"dependsOn"`             // what the value depends on, e.g. "the pod's network path"
	MaybeAbsent bool   `json:"maybeAbsent,omitempty"` // the key may also be missing from the request
}

// keyState is one key as the request has it.
type keyState struct {
	known   bool     // values are known (absent when empty)
	values  []string // known values
	unknown *Unknown // set when the value is known only at call time
}

// certainlyPresent reports whether the key is in the request for sure.
func (k keyState) certainlyPresent() bool {
	return (k.known && len(k.values) > 0) || (k.unknown != nil && !k.unknown.MaybeAbsent)
}

// reqContext answers key lookups for one evaluation. Case-insensitive lookups, prefix entries
// and merged spellings are resolved once here so that evaluation is a map read.
type reqContext struct {
	known    map[string][]string
	unknown  map[string]Unknown
	prefixes []prefixEntry // "/*" entries of Unknown, longest first
	types    map[string]KeyType
	tprefix  []prefixType
}

type prefixEntry struct {
	prefix string
	u      Unknown
}

type prefixType struct {
	prefix string
	t      KeyType
}

func newReqContext(req Request) *reqContext {
	rc := &reqContext{ // sized up front: every trust evaluation builds one (tooBroad makes several per check)
		known:   make(map[string][]string, len(req.Context)),
		unknown: make(map[string]Unknown, len(req.Unknown)),
		types:   make(map[string]KeyType, len(req.Types)),
	}
	for _, k := range sortedKeys(req.Context) { // merge keys that differ only in case in a fixed order
		lk := strings.ToLower(k)
		rc.known[lk] = append(rc.known[lk], req.Context[k]...)
	}
	for _, k := range sortedKeys(req.Unknown) {
		lk := strings.ToLower(k)
		if p, ok := strings.CutSuffix(lk, "/*"); ok {
			rc.prefixes = append(rc.prefixes, prefixEntry{p + "/", req.Unknown[k]})
			continue
		}
		if _, dup := rc.unknown[lk]; !dup {
			rc.unknown[lk] = req.Unknown[k]
		}
	}
	for _, k := range sortedKeys(req.Types) {
		lk := strings.ToLower(k)
		if p, ok := strings.CutSuffix(lk, "/*"); ok {
			rc.tprefix = append(rc.tprefix, prefixType{p + "/", req.Types[k]})
			continue
		}
		rc.types[lk] |= req.Types[k]
	}
	slices.SortStableFunc(rc.prefixes, func(a, b prefixEntry) int { return len(b.prefix) - len(a.prefix) })
	slices.SortStableFunc(rc.tprefix, func(a, b prefixType) int { return len(b.prefix) - len(a.prefix) })
	return rc
}

func (rc *reqContext) lookup(key string) keyState {
	lk := strings.ToLower(key)
	if v, ok := rc.known[lk]; ok {
		return keyState{known: true, values: v}
	}
	if u, ok := rc.unknown[lk]; ok {
		return keyState{unknown: &u}
	}
	for _, p := range rc.prefixes {
		if strings.HasPrefix(lk, p.prefix) {
			u := p.u
			return keyState{unknown: &u}
		}
	}
	return keyState{}
}

// typeOf returns the documented type of key, if the request declares one.
func (rc *reqContext) typeOf(key string) (KeyType, bool) {
	lk := strings.ToLower(key)
	if t, ok := rc.types[lk]; ok {
		return t, true
	}
	for _, p := range rc.tprefix {
		if strings.HasPrefix(lk, p.prefix) {
			return p.t, true
		}
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// KeyType is the set of condition operator families a key's documentation says it works with,
// e.g. aws:EpochTime "works with date operators or numeric operators".
type KeyType uint8

// The key types of IAM's condition operator families
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
const (
	TypeString KeyType = 1 << iota
	TypeNumeric
	TypeDate
	TypeBool
	TypeBinary
	TypeIP
	TypeARN
)

var typeNames = []struct {
	t    KeyType
	name string
}{
	{TypeString, "String"}, {TypeNumeric, "Numeric"}, {TypeDate, "Date"}, {TypeBool, "Bool"},
	{TypeBinary, "Binary"}, {TypeIP, "IP address"}, {TypeARN, "ARN"},
}

// String names the type, e.g. "Date or Numeric".
func (t KeyType) String() string {
	var names []string
	for _, n := range typeNames {
		if t&n.t != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "untyped"
	}
	return strings.Join(names, " or ")
}

// familyType maps an operator family to the key type it compares.
var familyType = map[string]KeyType{
	"string": TypeString, "numeric": TypeNumeric, "date": TypeDate, "bool": TypeBool,
	"binary": TypeBinary, "ip": TypeIP, "arn": TypeARN,
}

// TypeOf returns the documented type of key, if the request declares one.
func (r Request) TypeOf(key string) (KeyType, bool) { return newReqContext(r).typeOf(key) }

// UnknownOf returns what key's value depends on when the request has it only at call time.
func (r Request) UnknownOf(key string) (Unknown, bool) {
	st := newReqContext(r).lookup(key)
	if st.unknown == nil {
		return Unknown{}, false
	}
	return *st.unknown, true
}
