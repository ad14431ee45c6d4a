package validators

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseRoleARNAccepts(t *testing.T) {
	tests := map[string]struct {
		in   string
		want RoleARN
	}{
		"a plain role in the commercial partition": {
			in:   "arn:aws:iam::111122223333:role/my-app",
			want: RoleARN{Partition: "aws", Account: "111122223333", Path: "/", Name: "my-app"},
		},
		"a role with a path": {
			in:   "arn:aws:iam::111122223333:role/service-role/team/my-app",
			want: RoleARN{Partition: "aws", Account: "111122223333", Path: "/service-role/team/", Name: "my-app"},
		},
		"an account with leading zeros stays a string": {
			in:   "arn:aws-cn:iam::000011112222:role/app",
			want: RoleARN{Partition: "aws-cn", Account: "000011112222", Path: "/", Name: "app"},
		},
		"every name character IAM allows": {
			in:   "arn:aws-us-gov:iam::111122223333:role/A_z0+=,.@-x",
			want: RoleARN{Partition: "aws-us-gov", Account: "111122223333", Path: "/", Name: "A_z0+=,.@-x"},
		},
		"a path may hold any printable ASCII, colons included": {
			in:   "arn:aws-iso-b:iam::111122223333:role/a:b/c~!/app",
			want: RoleARN{Partition: "aws-iso-b", Account: "111122223333", Path: "/a:b/c~!/", Name: "app"},
		},
		"the European sovereign cloud partition": {
			in:   "arn:aws-eusc:iam::111122223333:role/app",
			want: RoleARN{Partition: "aws-eusc", Account: "111122223333", Path: "/", Name: "app"},
		},
		"a 64-character name is the maximum": {
			in:   "arn:aws:iam::111122223333:role/" + strings.Repeat("n", 64),
			want: RoleARN{Partition: "aws", Account: "111122223333", Path: "/", Name: strings.Repeat("n", 64)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRoleARN(tc.in)
			if err != nil {
				t.Fatalf("ParseRoleARN(%q) = %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseRoleARN(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.in {
				t.Fatalf("String() = %q, want the input back", got.String())
			}
		})
	}
}

func TestParseRoleARNRejects(t *testing.T) {
	tests := map[string]struct {
		in         string
		problem    string
		suggestion string
	}{
		"the seed's ARN with extra colons and a 10-digit account": {
			in:      "arn:aws:iam::::1234567890:role/example",
			problem: `has 2 extra ":" around the account ID; has account ID "1234567890" with 10 digits, not 12`,
		},
		"extra colons around a valid account": {
			in:         "arn:aws:iam:::111122223333:role/example",
			problem:    `has 1 extra ":" around the account ID`,
			suggestion: "arn:aws:iam::111122223333:role/example",
		},
		"a trailing newline from a heredoc": {
			in:         "arn:aws:iam::111122223333:role/my-app\n",
			problem:    "has leading or trailing white space",
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"a bare role name": {
			in:      "my-app",
			problem: "is a bare role name; use the full ARN arn:<partition>:iam::<account>:role/my-app",
		},
		"only the resource part": {
			in:      "role/my-app",
			problem: "is only the resource part; use the full ARN arn:<partition>:iam::<account>:role/my-app",
		},
		"an empty value": {
			in:      "",
			problem: "is empty; expected arn:<partition>:iam::<12-digit account>:role/<name>",
		},
		"an IAM user ARN": {
			in:      "arn:aws:iam::111122223333:user/deploy-bot",
			problem: "is an IAM user ARN, not a role ARN",
		},
		"an assumed-role session ARN copied from get-caller-identity": {
			in:         "arn:aws:sts::111122223333:assumed-role/my-app/botocore-session-1700000000",
			problem:    "is an STS assumed-role (session) ARN; use the role's IAM ARN, which includes its path",
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"an instance profile ARN": {
			in:         "arn:aws:iam::111122223333:instance-profile/my-app",
			problem:    "is an instance profile ARN, not a role ARN",
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"an OIDC provider ARN pasted by mistake": {
			in:      "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
			problem: "is an IAM oidc-provider ARN, not a role ARN",
		},
		"an S3 bucket ARN": {
			in:      "arn:aws:s3:::my-bucket",
			problem: `is an ARN of service "s3", not an IAM role`,
		},
		"a region in the IAM ARN": {
			in:         "arn:aws:iam:us-east-1:111122223333:role/my-app",
			problem:    `has region "us-east-1"; IAM is global, so the region field must be empty`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"the account in the region field": {
			in:         "arn:aws:iam:111122223333::role/my-app",
			problem:    `has the account ID in the region field; write "iam::<account>"`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"one colon instead of two": {
			in:         "arn:aws:iam:111122223333:role/my-app",
			problem:    `is missing the empty region field; write "iam::<account>" with two colons`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"an 11-digit account": {
			in:      "arn:aws:iam::11112222333:role/my-app",
			problem: `has account ID "11112222333" with 11 digits, not 12`,
		},
		"an account written with dashes as the console shows it": {
			in:         "arn:aws:iam::1111-2222-3333:role/my-app",
			problem:    `has account ID "1111-2222-3333"; write the 12 digits without separators`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"an unfilled template placeholder for the account": {
			in:      "arn:aws:iam::${AWS_ACCOUNT_ID}:role/my-app",
			problem: `has account ID "${AWS_ACCOUNT_ID}"; expected 12 digits`,
		},
		"an upper-case partition": {
			in:         "arn:AWS:iam::111122223333:role/my-app",
			problem:    `has unknown partition "AWS" (did you mean aws?)`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"a misspelt GovCloud partition": {
			in:         "arn:aws-gov:iam::111122223333:role/my-app",
			problem:    `has unknown partition "aws-gov" (did you mean aws-us-gov?)`,
			suggestion: "arn:aws-us-gov:iam::111122223333:role/my-app",
		},
		"a partition nothing resembles": {
			in:      "arn:azure:iam::111122223333:role/my-app",
			problem: `has unknown partition "azure"; expected one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc`,
		},
		"an upper-case ARN prefix": {
			in:         "ARN:aws:iam::111122223333:role/my-app",
			problem:    `must start with lower-case "arn:"`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"an upper-case resource type": {
			in:         "arn:aws:iam::111122223333:Role/my-app",
			problem:    `resource type must be lower-case "role/"`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"a colon instead of a slash after role": {
			in:         "arn:aws:iam::111122223333:role:my-app",
			problem:    `uses ":" after "role"; write "role/<name>"`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"no name after the path": {
			in:      "arn:aws:iam::111122223333:role/team/",
			problem: `ends with "/": the role name is missing`,
		},
		"a double slash after role": {
			in:         "arn:aws:iam::111122223333:role//my-app",
			problem:    `has "//" after "role": a path needs at least one character between its slashes`,
			suggestion: "arn:aws:iam::111122223333:role/my-app",
		},
		"a space inside the name": {
			in:      "arn:aws:iam::111122223333:role/my app",
			problem: `has " " in the role name; allowed are letters, digits and +=,.@_-`,
		},
		"a 65-character name": {
			in:      "arn:aws:iam::111122223333:role/" + strings.Repeat("n", 65),
			problem: "has a 65-character role name; IAM allows at most 64",
		},
		"a path longer than 512 characters": {
			in:      "arn:aws:iam::111122223333:role/" + strings.Repeat("p", 511) + "/app",
			problem: "has a 513-character role path; IAM allows at most 512",
		},
		"an unexpanded Helm value": {
			in:      "{{ .Values.roleArn }}",
			problem: "is not an ARN; expected arn:<partition>:iam::<12-digit account>:role/<name>",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRoleARN(tc.in)
			var ae *ARNError
			if !errors.As(err, &ae) {
				t.Fatalf("ParseRoleARN(%q) error = %v, want *ARNError", tc.in, err)
			}
			if ae.Problem != tc.problem {
				t.Errorf("Problem = %q\nwant      %q", ae.Problem, tc.problem)
			}
			if ae.Suggestion != tc.suggestion {
				t.Errorf("Suggestion = %q, want %q", ae.Suggestion, tc.suggestion)
			}
		})
	}
}

func TestARNErrorMessage(t *testing.T) {
	_, err := ParseRoleARN("arn:aws:iam:us-east-1:111122223333:role/my-app")
	want := `role ARN "arn:aws:iam:us-east-1:111122223333:role/my-app" has region "us-east-1"; IAM is global, so the region field must be empty; did you mean arn:aws:iam::111122223333:role/my-app?`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

// FuzzParseRoleARN checks the parser's promises on any input: no panic, an accepted ARN renders
// back to itself, and a suggestion is always an ARN the parser accepts.
func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::::1234567890:role/example", "arn:aws:iam::111122223333:role/a/b/c",
		"arn:aws:sts::111122223333:assumed-role/x/y", " my-app ", "arn:aws:iam:111122223333:role:x",
		"arn:aws:iam::1111-2222-3333:Role//x", "arn:\x00:iam::\xff:role/\u00e9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoleARN(s)
		if err == nil {
			if r.String() != s {
				t.Fatalf("accepted %q but renders %q", s, r.String())
			}
			return
		}
		var ae *ARNError
		if !errors.As(err, &ae) {
			t.Fatalf("error %T is not *ARNError", err)
		}
		if ae.Problem == "" || !utf8.ValidString(ae.Error()) && utf8.ValidString(s) {
			t.Fatalf("bad error for %q: %q", s, ae.Error())
		}
		if ae.Suggestion != "" {
			if _, err := ParseRoleARN(ae.Suggestion); err != nil {
				t.Fatalf("suggestion %q for %q does not parse: %v", ae.Suggestion, s, err)
			}
		}
	})
}
