package awsstate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStateDefaults(t *testing.T) {
	st, err := ParseState([]byte(testState))
	if err != nil {
		t.Fatal(err)
	}
	if st.Partition != "aws" {
		t.Errorf("Partition = %q, want the default aws", st.Partition)
	}
	r := st.Accounts[otherAccount].Roles[0]
	if r.Path != "/" || r.MaxSessionDuration != 3600 || !r.CreateDate.Equal(DefaultCreateDate()) {
		t.Errorf("role defaults = path %q, max %d, created %v", r.Path, r.MaxSessionDuration, r.CreateDate)
	}
	if st.Clusters[0].Account != testAccount {
		t.Errorf("cluster account = %q, want the caller's", st.Clusters[0].Account)
	}
	if got := string(st.Accounts[testAccount].Roles[1].TrustPolicy); got != `{"Version":"2012-10-17","Statement":[]}` {
		t.Errorf("a string trust policy must stay as written, got %s", got)
	}
}

// TestParseStateRejects lists the mistakes people make in state files; each error must name the
// line or object and say what to write instead.
func TestParseStateRejects(t *testing.T) {
	tests := map[string]struct {
		doc     string
		wantErr string
	}{
		"an empty document": {"", "document is empty; expected at least callerAccount"},
		"a misspelt key names its line": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    role: []\n",
			"line 4: field role not found in type awsstate.Account",
		},
		"a misspelt role key names its line": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - name: a\n        trustpolicy: {}\n",
			"line 6: field trustpolicy not found in type awsstate.Role",
		},
		"an unquoted account that lost its leading zero": {
			"callerAccount: 012345678901\n", "", // YAML keeps the digits as written: accepted
		},
		"unquoted account keys are read as written": {
			"callerAccount: 111122223333\naccounts:\n  011122223333: {}\n", "",
		},
		"a short account ID": {
			"callerAccount: \"12345\"\n", `callerAccount "12345" must be a 12-digit account ID in quotes, e.g. "111122223333"`,
		},
		"an unknown partition": {
			"partition: aws-gov\ncallerAccount: \"111122223333\"\n", `partition "aws-gov" is unknown`,
		},
		"a role without a trust policy": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - name: app\n",
			`account 111122223333 role "app": trustPolicy is required`,
		},
		"a trust policy string that is not JSON": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - name: app\n        trustPolicy: \"{Version: 2012-10-17}\"\n",
			"line 6: trustPolicy string is not valid JSON",
		},
		"a role path without the trailing slash": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - {name: app, path: /team, trustPolicy: {}}\n",
			`account 111122223333 role "app": path "/team" must start and end with /`,
		},
		"a role ARN pasted as the name": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - {name: \"arn:aws:iam::111122223333:role/app\", trustPolicy: {}}\n",
			`account 111122223333 roles[0]: name "arn:aws:iam::111122223333:role/app" must be 1-64 characters`,
		},
		"two roles differing only in case": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - {name: App, trustPolicy: {}}\n      - {name: app, trustPolicy: {}}\n",
			`account 111122223333 role "app": listed twice (IAM role names are case-insensitive)`,
		},
		"a provider URL without https": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    oidcProviders:\n      - url: oidc.eks.us-west-2.amazonaws.com/id/X\n",
			`account 111122223333 oidcProviders[0]: url "oidc.eks.us-west-2.amazonaws.com/id/X" must be the issuer's https:// URL`,
		},
		"a thumbprint that is not a SHA-1": {
			"callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    oidcProviders:\n      - {url: \"https://issuer.example\", thumbprints: [abc]}\n",
			`thumbprint "abc" must be 40 hex characters`,
		},
		"a cluster without a region": {
			"callerAccount: \"111122223333\"\nclusters:\n  - {name: demo, issuer: \"https://x\"}\n",
			`cluster "demo": region is required`,
		},
		"a fault with two outcomes": {
			"callerAccount: \"111122223333\"\nfaults:\n  - {error: Throttling, drop: true}\n",
			"faults[0]: choose at most one of error, malformed, drop, reset and wrongContentType",
		},
		"a fault latency without a unit": {
			"callerAccount: \"111122223333\"\nfaults:\n  - {latency: 100}\n",
			"cannot unmarshal !!int `100` into time.Duration",
		},
		"two documents": {
			"callerAccount: \"111122223333\"\n---\ncallerAccount: \"111122223333\"\n",
			"more than one YAML document",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseState([]byte(tc.doc))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ParseState: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadStateNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws.yaml")
	if err := os.WriteFile(path, []byte("callerAccount: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadState(path)
	if err == nil || !strings.HasPrefix(err.Error(), "AWS state "+path+": callerAccount") {
		t.Errorf("error = %v, want it to start with the path", err)
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(testState))
	f.Add([]byte("callerAccount: \"111122223333\"\nfaults: [{latency: 1s, every: 2}]\n"))
	f.Add([]byte("{\"callerAccount\":\"111122223333\",\"accounts\":{\"111122223333\":{\"roles\":[{\"name\":\"a\",\"trustPolicy\":\"{}\"}]}}}"))
	f.Add([]byte("callerAccount: &a \"111122223333\"\npartition: *a\n"))
	f.Add([]byte(podIdentityState))
	f.Add([]byte("callerAccount: \"111122223333\"\nclusters: [{name: c, region: r, issuer: \"https://i\", podIdentityAssociations: [{namespace: n, serviceAccount: s.a, roleArn: \"arn:aws:iam::111122223333:role/r\", targetRoleArn: \"arn:aws:iam::111122223333:role/t\"}]}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseState(b)
		if err != nil {
			if st != nil {
				t.Fatal("a state returned with an error")
			}
			return
		}
		if !accountRE.MatchString(st.CallerAccount) || st.Partition == "" {
			t.Fatalf("accepted state lacks a valid callerAccount or partition: %+v", st)
		}
		for _, acct := range st.Accounts {
			for _, r := range acct.Roles {
				if r.Path == "" || r.TrustPolicy == "" {
					t.Fatalf("accepted role %q without path or trust policy", r.Name)
				}
			}
		}
		for _, c := range st.Clusters {
			seen := map[string]bool{}
			for _, p := range c.PodIdentityAssociations {
				if !associationIDRE.MatchString(p.AssociationID) || seen[p.Namespace+"/"+p.ServiceAccount] ||
					(p.TargetRoleARN != "") != (p.ExternalID != "") || p.CreatedAt.IsZero() {
					t.Fatalf("accepted association %+v", p)
				}
				if _, _, _, _, ok := ParseRoleARN(p.RoleARN); !ok {
					t.Fatalf("accepted association role %q", p.RoleARN)
				}
				seen[p.Namespace+"/"+p.ServiceAccount] = true
			}
		}
		if err := st.Normalize(); err != nil {
			t.Fatalf("Normalize of an accepted state failed: %v", err)
		}
	})
}
