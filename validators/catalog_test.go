package validators

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogIsDocumented keeps docs/checks.md and the catalog in step: every check has a
// section whose heading names its ID, and the page documents no ID the catalog lacks.
func TestCatalogIsDocumented(t *testing.T) {
	data, err := os.ReadFile("../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`(?m)^## (IRSA\d{3}) — (.+)$`)
	documented := map[CheckID]string{}
	for _, m := range heading.FindAllStringSubmatch(string(data), -1) {
		id := CheckID(m[1])
		if _, dup := documented[id]; dup {
			t.Errorf("docs/checks.md documents %s twice", id)
		}
		documented[id] = m[2]
	}
	for _, info := range Checks() {
		id := info.ID
		title, ok := documented[id]
		if !ok {
			t.Errorf("docs/checks.md has no section \"## %s — %s\"", id, info.Title)
			continue
		}
		if title != info.Title {
			t.Errorf("docs/checks.md heading for %s is %q, catalog title is %q", id, title, info.Title)
		}
	}
	for id := range documented {
		if _, ok := LookupCheck(id); !ok {
			t.Errorf("docs/checks.md documents %s, which is not in the catalog", id)
		}
	}
}

// TestCatalogEntriesAreWellFormed checks what NewFinding relies on: the entry's ID is its key,
// and it has a title, a known severity, a fix, and a predicted error that is one of the exact
// strings a pod would see.
func TestCatalogEntriesAreWellFormed(t *testing.T) {
	predicted := map[string]bool{
		"": true, STSRequestARNInvalid: true, STSNoOIDCProvider: true, STSIncorrectAudience: true,
		STSThumbprintMismatch: true, STSNotAuthorized: true, NoSTSCall: true, PodIdentityAccessDenied: true, IAMMalformedPolicy: true,
		PodIdentityOldSDK: true,
	}
	id := regexp.MustCompile(`^IRSA\d{3}$`)
	for key, info := range catalog {
		if info.ID != key || !id.MatchString(string(key)) {
			t.Errorf("catalog key %s holds entry %s", key, info.ID)
		}
		if strings.TrimSpace(info.Title) == "" || strings.HasSuffix(info.Title, ".") || len(info.Title) > 100 {
			t.Errorf("%s: title %q must be a non-empty phrase of at most 100 characters without a final period", key, info.Title)
		}
		if strings.TrimSpace(info.Fix) == "" || SanitizeMessage(info.Fix, 4*MaxMessageRunes) != info.Fix {
			t.Errorf("%s: fix %q must be non-empty, one line, at most %d characters", key, info.Fix, 4*MaxMessageRunes)
		}
		switch info.Severity {
		case SeverityError, SeverityWarning, SeverityInfo:
		default:
			t.Errorf("%s: unknown severity %q", key, info.Severity)
		}
		if !predicted[info.PredictedError] {
			t.Errorf("%s: predicted error %q is not one of the catalog's STS error strings", key, info.PredictedError)
		}
	}
}
