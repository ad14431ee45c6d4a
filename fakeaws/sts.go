package fakeaws

import (
	"crypto/sha1" //nolint:gosec // fake access key ids only
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

func (s *Server) getCallerIdentity(c *queryCall) {
	c.respond(struct {
		Arn     string
		UserId  string //nolint:revive // AWS's element name
		Account string
	}{c.caller.arn, c.caller.userID, c.caller.account})
}

// sessionNameRE is STS's RoleSessionName rule.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// assumeRole issues temporary credentials for a role in any account of the state. The trust check
// is a simplification of IAM's: the role must exist with exactly the requested path and name, and
// an Allow statement whose Action covers sts:AssumeRole must name the caller as an AWS principal
// ("*", the account ID, the account's :root ARN, or the caller's own ARN). Conditions and Deny
// statements are ignored. docs/aws-state.md says so for users.
func (s *Server) assumeRole(c *queryCall) {
	roleARN := c.params("RoleArn")
	session := c.params("RoleSessionName")
	partition, account, path, name, ok := awsstate.ParseRoleARN(roleARN)
	if !ok {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError", "Request ARN is invalid")
		return
	}
	if !sessionNameRE.MatchString(session) {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session))
		return
	}
	denied := func() {
		c.fail(http.StatusForbidden, "Sender", "AccessDenied",
			fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.caller.arn, roleARN))
	}
	role := findRole(c.st.Accounts[account], name)
	// Role ARNs in STS are matched exactly: another path or case is a different, missing role.
	if partition != c.st.Partition || role == nil || role.Name != name || role.Path != path {
		denied()
		return
	}
	if !trustsCaller(string(role.TrustPolicy), c.caller) {
		denied()
		return
	}
	duration := int64(3600)
	if d := c.params("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 900 || n > int64(role.MaxSessionDuration) {
			c.fail(http.StatusBadRequest, "Sender", "ValidationError",
				fmt.Sprintf("The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below 900: %s", d))
			return
		}
		duration = n
	}
	creds, user := s.issueSession(partition, account, role, roleARN, session, duration)
	c.respond(struct {
		Credentials      stsCredentials
		AssumedRoleUser  assumedRoleUser
		PackedPolicySize int
	}{Credentials: creds, AssumedRoleUser: user})
}

// stsCredentials is STS's <Credentials> element.
type stsCredentials struct {
	AccessKeyId     string //nolint:revive // AWS's element name
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

// assumedRoleUser is STS's <AssumedRoleUser> element.
type assumedRoleUser struct {
	Arn           string
	AssumedRoleId string //nolint:revive // AWS's element name
}

// issueSession makes temporary ASIA credentials for a role session and remembers them, so that
// IAM and STS calls signed with them act as the role's account.
func (s *Server) issueSession(partition, account string, role *awsstate.Role, roleARN, session string, duration int64) (stsCredentials, assumedRoleUser) {
	serial := s.nextSerial()
	sum := sha1.Sum([]byte(fmt.Sprintf("%s/%s/%d", roleARN, session, serial))) //nolint:gosec // an id generator, not security
	akid := "ASIA" + base32.StdEncoding.EncodeToString(sum[:])[:16]
	assumed := identity{
		account: account,
		arn:     fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, role.Name, session),
		userID:  roleID(roleARN) + ":" + session,
	}
	s.mu.Lock()
	s.sessions[akid] = assumed
	s.mu.Unlock()
	return stsCredentials{
			AccessKeyId:     akid,
			SecretAccessKey: "fake-session-secret-" + strconv.Itoa(serial),
			SessionToken:    "FwoGZXIvYXdzEFAKE" + strings.Repeat("x", 32) + strconv.Itoa(serial),
			Expiration:      awsTime(time.Now().Add(time.Duration(duration) * time.Second)),
		},
		assumedRoleUser{Arn: assumed.arn, AssumedRoleId: assumed.userID}
}

// trustsCaller reports whether an Allow statement for sts:AssumeRole names the caller as an AWS
// principal. See assumeRole for what is deliberately left out.
func trustsCaller(policy string, caller identity) bool {
	var doc struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	type statement struct {
		Effect    string
		Action    json.RawMessage
		Principal json.RawMessage
	}
	var stmts []statement
	if json.Unmarshal(doc.Statement, &stmts) != nil {
		var one statement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		stmts = []statement{one}
	}
	root := fmt.Sprintf(":iam::%s:root", caller.account)
	for _, st := range stmts {
		if st.Effect != "Allow" || !anyMatch(stringsOf(st.Action), func(a string) bool {
			a = strings.ToLower(a)
			return a == "*" || a == "sts:*" || a == "sts:assumerole"
		}) {
			continue
		}
		var principals []string
		var star string
		if json.Unmarshal(st.Principal, &star) == nil {
			principals = []string{star}
		} else {
			var m map[string]json.RawMessage
			if json.Unmarshal(st.Principal, &m) == nil {
				principals = stringsOf(m["AWS"])
			}
		}
		if anyMatch(principals, func(p string) bool {
			return p == "*" || p == caller.account || strings.HasSuffix(p, root) || p == caller.arn
		}) {
			return true
		}
	}
	return false
}

// stringsOf decodes a policy value that is a string or a list of strings.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func anyMatch(xs []string, pred func(string) bool) bool {
	for _, x := range xs {
		if pred(x) {
			return true
		}
	}
	return false
}
