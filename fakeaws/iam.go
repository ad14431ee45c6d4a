package fakeaws

import (
	"crypto/sha1" //nolint:gosec // see roleID
	"encoding/base32"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// iamTag is a tag as IAM's XML carries it, inside <Tags><member>...</member></Tags>.
type iamTag struct {
	Key   string
	Value string
}

// iamRole is GetRole's <Role> element.
type iamRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string //nolint:revive // AWS's element name
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string      `xml:",omitempty"`
	MaxSessionDuration       int32       `xml:",omitempty"`
	Tags                     *iamTagList `xml:",omitempty"`
}

// iamTagList wraps tags so that no tags means no <Tags> element: encoding/xml writes the parent
// of an empty "Tags>member" list.
type iamTagList struct {
	Member []iamTag `xml:"member"`
}

// findRole looks a role up by name the way IAM does: case-insensitively, answering with the
// role's real name and ARN. That is why a wrongly-cased annotation still "finds" a role whose ARN
// then differs from the annotation (IRSA011).
func findRole(acct *awsstate.Account, name string) *awsstate.Role {
	if acct == nil {
		return nil
	}
	for i := range acct.Roles {
		if strings.EqualFold(acct.Roles[i].Name, name) {
			return &acct.Roles[i]
		}
	}
	return nil
}

// roleID is a stable, realistic-looking unique id: "AROA" + 17 base32 characters.
func roleID(arn string) string {
	sum := sha1.Sum([]byte(arn)) //nolint:gosec // an id generator, not security: AWS role ids just look random
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

func (s *Server) getRole(c *queryCall) {
	name := c.params("RoleName")
	if !awsstate.ValidRoleName(name) {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name))
		return
	}
	role := findRole(c.st.Accounts[c.caller.account], name)
	if role == nil {
		c.fail(http.StatusNotFound, "Sender", "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name))
		return
	}
	arn := role.ARN(c.st.Partition, c.caller.account)
	out := struct {
		Role iamRole
	}{iamRole{
		Path:                     role.Path,
		RoleName:                 role.Name,
		RoleId:                   roleID(arn),
		Arn:                      arn,
		CreateDate:               awsTime(role.CreateDate),
		AssumeRolePolicyDocument: rfc3986Escape(string(role.TrustPolicy)),
		Description:              role.Description,
		MaxSessionDuration:       role.MaxSessionDuration,
		Tags:                     iamTags(role.Tags),
	}}
	c.respond(out)
}

// iamTags converts tags; nil for none, so no empty <Tags/> element is written (IAM omits it).
func iamTags(tags []awsstate.Tag) *iamTagList {
	if len(tags) == 0 {
		return nil
	}
	out := &iamTagList{}
	for _, t := range tags {
		out.Member = append(out.Member, iamTag(t))
	}
	return out
}

// providerARNRE is IAM's shape of an OIDC provider ARN.
var providerARNRE = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}):oidc-provider/(.+)$`)

func (s *Server) getOIDCProvider(c *queryCall) {
	arn := c.params("OpenIDConnectProviderArn")
	m := providerARNRE.FindStringSubmatch(arn)
	if m == nil {
		c.fail(http.StatusBadRequest, "Sender", "InvalidInput", fmt.Sprintf("ARN %s is not valid.", arn))
		return
	}
	partition, account, hostPath := m[1], m[2], m[3]
	if account != c.caller.account {
		// IAM has no resource policies: another account's provider is simply not readable.
		c.fail(http.StatusForbidden, "Sender", "AccessDenied",
			fmt.Sprintf("User: %s is not authorized to perform: iam:GetOpenIDConnectProvider on resource: %s", c.caller.arn, arn))
		return
	}
	var found *awsstate.OIDCProvider
	if partition == c.st.Partition {
		if acct := c.st.Accounts[account]; acct != nil {
			for i := range acct.OIDCProviders {
				if strings.TrimPrefix(acct.OIDCProviders[i].URL, "https://") == hostPath {
					found = &acct.OIDCProviders[i]
					break
				}
			}
		}
	}
	if found == nil {
		c.fail(http.StatusNotFound, "Sender", "NoSuchEntity", fmt.Sprintf("OpenIDConnect Provider not found for arn %s", arn))
		return
	}
	out := struct {
		// IAM answers the URL without its scheme.
		Url            string   //nolint:revive // AWS's element name
		ClientIDList   []string `xml:"ClientIDList>member"`
		ThumbprintList []string `xml:"ThumbprintList>member"`
		CreateDate     string
		Tags           *iamTagList `xml:",omitempty"`
	}{
		Url:            strings.TrimPrefix(found.URL, "https://"),
		ClientIDList:   found.ClientIDs,
		ThumbprintList: found.Thumbprints,
		CreateDate:     awsTime(found.CreateDate),
		Tags:           iamTags(found.Tags),
	}
	c.respond(out)
}

func (s *Server) listOIDCProviders(c *queryCall) {
	type entry struct {
		Arn string
	}
	var arns []string
	if acct := c.st.Accounts[c.caller.account]; acct != nil {
		for i := range acct.OIDCProviders {
			arns = append(arns, acct.OIDCProviders[i].ARN(c.st.Partition, c.caller.account))
		}
	}
	sort.Strings(arns)
	out := struct {
		List []entry `xml:"OpenIDConnectProviderList>member"`
	}{List: []entry{}}
	for _, a := range arns {
		out.List = append(out.List, entry{a})
	}
	c.respond(out)
}
