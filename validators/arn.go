package validators

import (
	"fmt"
	"strings"
)

// RoleARN is a parsed IAM role ARN: arn:<Partition>:iam::<Account>:role<Path><Name>. Account
// stays a string because leading zeros are legal; Path is "/" or "/a/b/".
type RoleARN struct{ Partition, Account, Path, Name string }

// String renders the ARN in the exact form IAM returns, so it can be compared byte for byte
// with GetRole's Role.Arn.
func (r RoleARN) String() string {
	return "arn:" + r.Partition + ":iam::" + r.Account + ":role" + r.Path + r.Name
}

// IAM limits from the API models: RoleArn is 20-2048 characters
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html), RoleName
// 1-64 and Path 1-512 (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
const (
	minARNLength      = 20   // STS arnType
	maxARNLength      = 2048 // STS arnType
	maxRoleNameLength = 64   // IAM roleNameType
	maxRolePathLength = 512  // IAM pathType
)

// ARNError says what is wrong with a role ARN. Problem reads after the quoted value ("has 2
// extra ':' before the account ID"); Suggestion is a corrected ARN that parses, set only when
// one can be inferred without guessing an account or a name.
type ARNError struct {
	Value      string
	Problem    string
	Suggestion string
}

func (e *ARNError) Error() string {
	s := "role ARN " + Quote(e.Value, 80) + " " + e.Problem
	if e.Suggestion != "" {
		s += "; did you mean " + e.Suggestion + "?"
	}
	return s
}

// ParseRoleARN parses s with the IAM API's exact grammar. The pod identity webhook injects any
// value into AWS_ROLE_ARN, so anything this rejects fails at STS with "Request ARN is invalid"
// or, for a well-formed ARN of the wrong kind, AccessDenied. Errors are *ARNError.
func ParseRoleARN(s string) (RoleARN, error) {
	r, problems, guess := parseRoleARN(s)
	if len(problems) == 0 {
		return r, nil
	}
	if len(problems) > 2 {
		problems = problems[:2]
	}
	e := &ARNError{Value: s, Problem: strings.Join(problems, "; ")}
	if guess != "" && guess != s {
		if _, p, _ := parseRoleARN(guess); len(p) == 0 {
			e.Suggestion = guess
		}
	}
	return RoleARN{}, e
}

// parseRoleARN returns the parsed ARN, every problem found in reading order, and a best-effort
// corrected string ("" when a correction would need information s does not hold).
func parseRoleARN(s string) (RoleARN, []string, string) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	v := strings.TrimSpace(s)
	if v != s {
		add("has leading or trailing white space")
	}
	if v == "" {
		add("is empty; expected arn:<partition>:iam::<12-digit account>:role/<name>")
		return RoleARN{}, problems, ""
	}
	if len(v) > maxARNLength {
		add("is %d characters long; an ARN has at most %d", len(v), maxARNLength)
		return RoleARN{}, problems, ""
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || !strings.EqualFold(parts[0], "arn") {
		switch {
		case isRoleName(v):
			add("is a bare role name; use the full ARN arn:<partition>:iam::<account>:role/%s", v)
		case strings.HasPrefix(v, "role/"):
			add("is only the resource part; use the full ARN arn:<partition>:iam::<account>:%s", v)
		default:
			add("is not an ARN; expected arn:<partition>:iam::<12-digit account>:role/<name>")
		}
		return RoleARN{}, problems, ""
	}
	if parts[0] != "arn" {
		add(`must start with lower-case "arn:"`)
	}
	if len(parts) < 4 {
		add(`has too few ":"-separated fields; expected arn:<partition>:iam::<account>:role/<name>`)
		return RoleARN{}, problems, ""
	}
	guessable := true
	partition := checkPartition(parts[1], add, &guessable)
	k := resourceIndex(parts)
	resource := strings.Join(parts[k:], ":")
	service := parts[2]
	switch {
	case service == "iam":
	case strings.EqualFold(service, "iam"):
		add(`service must be lower-case "iam"`)
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		// reported with the resource below
	default:
		add("is an ARN of service %s, not an IAM role", Quote(service, 20))
		return RoleARN{}, problems, ""
	}
	account := checkAccountFields(parts[3:k], add, &guessable)
	path, name := checkRoleResource(resource, add, &guessable)
	r := RoleARN{Partition: partition, Account: account, Path: path, Name: name}
	if !guessable {
		return r, problems, ""
	}
	return r, problems, r.String()
}

// checkPartition reports an unknown partition and returns the one it most likely meant.
func checkPartition(p string, add func(string, ...any), guessable *bool) string {
	if _, ok := LookupPartition(p); ok {
		return p
	}
	if p == "" {
		add("has an empty partition; expected one of %s", partitionNames())
		*guessable = false
		return p
	}
	if n := nearestPartition(p); n != "" {
		add("has unknown partition %s (did you mean %s?)", Quote(p, 20), n)
		return n
	}
	add("has unknown partition %s; expected one of %s", Quote(p, 20), partitionNames())
	*guessable = false
	return p
}

func partitionNames() string {
	var names []string
	for _, p := range KnownPartitions() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// resourceIndex finds where the resource ("role/...") starts. A role path may itself contain
// ':' (pathType allows any printable ASCII), so the resource is everything from the first
// field that holds a '/' or is a bare resource type, never simply the sixth field.
func resourceIndex(parts []string) int {
	for i := 3; i < len(parts); i++ {
		if strings.Contains(parts[i], "/") || isResourceType(parts[i]) {
			return i
		}
	}
	return len(parts) - 1
}

func isResourceType(s string) bool {
	switch strings.ToLower(s) {
	case "role", "user", "group", "policy", "root", "assumed-role", "instance-profile", "oidc-provider", "saml-provider":
		return true
	}
	return false
}

// checkAccountFields reads the region and account fields (the fields between the service and
// the resource), reports misplaced or extra colons and a malformed account, and returns the
// account the author most likely meant.
func checkAccountFields(fields []string, add func(string, ...any), guessable *bool) string {
	var account string
	switch len(fields) {
	case 0:
		add("has no account ID; expected arn:<partition>:iam::<12-digit account>:role/<name>")
		*guessable = false
		return ""
	case 1:
		add(`is missing the empty region field; write "iam::<account>" with two colons`)
		account = fields[0]
	case 2:
		region := fields[0]
		account = fields[1]
		switch {
		case region == "":
		case account == "" && isDigits(region):
			add(`has the account ID in the region field; write "iam::<account>"`)
			account = region
		default:
			add("has region %s; IAM is global, so the region field must be empty", Quote(region, 20))
		}
	default:
		var nonEmpty []string
		for _, f := range fields {
			if f != "" {
				nonEmpty = append(nonEmpty, f)
			}
		}
		add(`has %d extra ":" around the account ID`, len(fields)-2)
		if len(nonEmpty) == 0 {
			*guessable = false
			return ""
		}
		account = nonEmpty[len(nonEmpty)-1]
	}
	// The separators people write inside an account ID ("1111-2222-3333"). strings.Map, not a
	// Replacer built per call: this runs on every review of a role-arn.
	stripped := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, account)
	switch {
	case len(account) == 12 && isDigits(account):
	case account == "":
		add("has an empty account ID; expected 12 digits")
		*guessable = false
	case isDigits(account):
		add("has account ID %s with %d digits, not 12", Quote(account, 20), len(account))
		*guessable = false
	case len(stripped) == 12 && isDigits(stripped):
		add("has account ID %s; write the 12 digits without separators", Quote(account, 20))
		account = stripped
	default:
		add("has account ID %s; expected 12 digits", Quote(account, 20))
		*guessable = false
	}
	return account
}

// checkRoleResource checks "role/<path><name>" and returns the path and name it holds.
func checkRoleResource(resource string, add func(string, ...any), guessable *bool) (string, string) {
	rtype, rest, hasSlash := strings.Cut(resource, "/")
	switch {
	case rtype == "role" && hasSlash:
	case strings.EqualFold(rtype, "role") && hasSlash:
		add(`resource type must be lower-case "role/"`)
	case rtype == "assumed-role" && hasSlash:
		add("is an STS assumed-role (session) ARN; use the role's IAM ARN, which includes its path")
		rest, _, _ = strings.Cut(rest, "/")
	case rtype == "instance-profile" && hasSlash:
		add("is an instance profile ARN, not a role ARN")
	case hasSlash && isResourceType(rtype):
		add("is an IAM %s ARN, not a role ARN", rtype)
		*guessable = false
		return "/", ""
	case strings.HasPrefix(resource, "role:"):
		add(`uses ":" after "role"; write "role/<name>"`)
		rest = strings.TrimPrefix(resource, "role:")
	case resource == "role":
		add(`has no role name after "role"`)
		*guessable = false
		return "/", ""
	case strings.HasPrefix(resource, "role"):
		add(`needs "/" between "role" and the name`)
		rest = strings.TrimPrefix(resource, "role")
	default:
		add("has resource %s; expected role/<name>", Quote(resource, 30))
		*guessable = false
		return "/", ""
	}
	if rest == "" {
		add(`has no role name after "role/"`)
		*guessable = false
		return "/", ""
	}
	i := strings.LastIndex(rest, "/")
	path, name := "/"+rest[:i+1], rest[i+1:]
	if path != "/" && len(path) < 3 {
		add(`has "//" after "role": a path needs at least one character between its slashes`)
		path = "/"
	}
	for j := 1; j < len(path)-1; j++ {
		if c := path[j]; c < 0x21 || c > 0x7E {
			add("has %s in the role path; a path holds printable ASCII without spaces", Quote(string(rune(c)), 4))
			*guessable = false
			break
		}
	}
	if len(path) > maxRolePathLength {
		add("has a %d-character role path; IAM allows at most %d", len(path), maxRolePathLength)
		*guessable = false
	}
	switch {
	case name == "":
		add(`ends with "/": the role name is missing`)
		*guessable = false
	case len(name) > maxRoleNameLength:
		add("has a %d-character role name; IAM allows at most %d", len(name), maxRoleNameLength)
		*guessable = false
	default:
		for _, r := range name {
			if !isRoleNameRune(r) {
				add("has %s in the role name; allowed are letters, digits and +=,.@_-", Quote(string(r), 4))
				*guessable = false
				break
			}
		}
	}
	return path, name
}

// isRoleName reports whether s is a valid role name on its own (IAM's [\w+=,.@-]{1,64}).
func isRoleName(s string) bool {
	if s == "" || len(s) > maxRoleNameLength {
		return false
	}
	for _, r := range s {
		if !isRoleNameRune(r) {
			return false
		}
	}
	return true
}

func isRoleNameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_+=,.@-", r)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
