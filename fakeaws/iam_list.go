package fakeaws

import (
	"strconv"
)

// listRoles is iam:ListRoles with IAM's pagination (MaxItems, default 100; Marker), which
// `irsa-guard aws-state export` uses to find the roles that trust a provider. Like IAM it
// returns AssumeRolePolicyDocument URL-encoded and leaves Tags out.
func (s *Server) listRoles(c *queryCall) {
	var roles []iamRole
	if acct := c.st.Accounts[c.caller.account]; acct != nil {
		for i := range acct.Roles {
			r := &acct.Roles[i]
			arn := r.ARN(c.st.Partition, c.caller.account)
			roles = append(roles, iamRole{
				Path: r.Path, RoleName: r.Name, RoleId: roleID(arn), Arn: arn, CreateDate: awsTime(r.CreateDate),
				AssumeRolePolicyDocument: rfc3986Escape(string(r.TrustPolicy)), Description: r.Description,
				MaxSessionDuration: r.MaxSessionDuration,
			})
		}
	}
	start, _ := strconv.Atoi(c.params("Marker"))
	limit, err := strconv.Atoi(c.params("MaxItems"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	start = min(max(start, 0), len(roles))
	end := min(start+limit, len(roles))
	out := struct {
		Roles       []iamRole `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{Roles: roles[start:end], IsTruncated: end < len(roles)}
	if out.IsTruncated {
		out.Marker = strconv.Itoa(end)
	}
	c.respond(out)
}
