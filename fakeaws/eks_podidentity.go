package fakeaws

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// listPodIdentityAssociations is eks:ListPodIdentityAssociations: the cluster's associations in
// state order, filtered by the namespace and serviceAccount query parameters, maxResults (1-100,
// default 100) at a time with an opaque nextToken.
// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListPodIdentityAssociations.html
func (s *Server) listPodIdentityAssociations(c *eksCall) {
	q := c.r.URL.Query()
	limit := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			c.fail(http.StatusBadRequest, "InvalidParameterException", "maxResults needs to be between 1 and 100")
			return
		}
		limit = n
	}
	start := 0
	if tok := q.Get("nextToken"); tok != "" {
		n, ok := decodeNextToken(tok)
		if !ok {
			c.fail(http.StatusBadRequest, "InvalidParameterException", "The nextToken is not valid.")
			return
		}
		start = n
	}
	cl := c.cluster()
	if cl == nil {
		c.clusterNotFound()
		return
	}
	ns, sa := q.Get("namespace"), q.Get("serviceAccount")
	var matched []*awsstate.PodIdentityAssociation
	for i := range cl.PodIdentityAssociations {
		p := &cl.PodIdentityAssociations[i]
		if (ns == "" || p.Namespace == ns) && (sa == "" || p.ServiceAccount == sa) {
			matched = append(matched, p)
		}
	}
	start = min(start, len(matched))
	end := min(start+limit, len(matched))
	summaries := make([]map[string]any, 0, end-start)
	for _, p := range matched[start:end] {
		m := map[string]any{
			"clusterName":    cl.Name,
			"namespace":      p.Namespace,
			"serviceAccount": p.ServiceAccount,
			"associationArn": p.ARN(c.st.Partition, cl),
			"associationId":  p.AssociationID,
		}
		if p.OwnerARN != "" {
			m["ownerArn"] = p.OwnerARN
		}
		summaries = append(summaries, m)
	}
	out := map[string]any{"associations": summaries}
	if end < len(matched) {
		out["nextToken"] = encodeNextToken(end)
	}
	c.respond(out)
}

// describePodIdentityAssociation is eks:DescribePodIdentityAssociation.
// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribePodIdentityAssociation.html
func (s *Server) describePodIdentityAssociation(c *eksCall) {
	id := c.labels[1]
	if len(id) != 19 {
		// EKS's answer for an id of the wrong length, as aws-samples/eks-workshop-v2#882 quotes it
		// for DeletePodIdentityAssociation.
		c.fail(http.StatusBadRequest, "InvalidParameterException", "The parameter associationId should be 19 characters long.")
		return
	}
	cl := c.cluster()
	if cl == nil {
		c.clusterNotFound()
		return
	}
	for i := range cl.PodIdentityAssociations {
		p := &cl.PodIdentityAssociations[i]
		if p.AssociationID != id {
			continue
		}
		a := map[string]any{
			"clusterName":        cl.Name,
			"namespace":          p.Namespace,
			"serviceAccount":     p.ServiceAccount,
			"roleArn":            p.RoleARN,
			"associationArn":     p.ARN(c.st.Partition, cl),
			"associationId":      p.AssociationID,
			"tags":               map[string]string{},
			"createdAt":          epochSeconds(p.CreatedAt),
			"modifiedAt":         epochSeconds(p.CreatedAt),
			"disableSessionTags": p.DisableSessionTags,
		}
		for k, v := range map[string]string{"ownerArn": p.OwnerARN, "targetRoleArn": p.TargetRoleARN, "externalId": p.ExternalID} {
			if v != "" {
				a[k] = v
			}
		}
		c.respond(map[string]any{"association": a})
		return
	}
	c.fail(http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("No Pod Identity Association found for id: %s.", id))
}

// encodeNextToken makes the opaque pagination token for the next page's first index.
func encodeNextToken(next int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("fakeaws-pia:" + strconv.Itoa(next)))
}

func decodeNextToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "fakeaws-pia:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}
