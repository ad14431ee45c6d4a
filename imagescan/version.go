package imagescan

import (
	"strconv"
	"strings"
)

// Minimum SDK versions, from the EKS User Guide:
// IRSA: https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html
// Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html
// Where the guide's number cannot be compared directly with what an image holds, the comment says
// what stands in for it and why.
const (
	minGoV1IRSA = "1.23.13"
	minGoV1PI   = "1.47.11"
	// The guide names the Go v2 release "release-2023-11-14". That release did not bump the
	// core module (github.com/aws/aws-sdk-go-v2 stayed at v1.22.2; v1.23.0 came a day later):
	// the Pod Identity support ("dynamic auth token from file and EKS container host") landed in
	// github.com/aws/aws-sdk-go-v2/config v1.25.0 and .../credentials v1.16.0, whose CHANGELOGs
	// date both to 2023-11-14. Those are the modules compared.
	minGoV2ConfigPI      = "1.25.0"
	minGoV2CredentialsPI = "1.16.0"

	minBotocoreIRSA = "1.12.200"
	minBoto3IRSA    = "1.9.220"
	minBotoPI       = "1.34.41" // botocore and boto3 alike
	minCLIv1IRSA    = "1.16.232"
	minCLIv1PI      = "1.30.0"
	minCLIv2PI      = "2.15.0"

	minJSv2IRSA = "2.525.0"
	minJSv2PI   = "2.1550.0"
	// JS v3 packages are versioned on their own; the guide's numbers are releases of the
	// monorepo. A package's version is the release that last changed it, so a package at or
	// above the number is at least that release.
	minJSv3IRSA = "3.27.0"
	minJSv3PI   = "3.458.0"

	// Java v1: the live guide says 1.12.782 for IRSA; revisions before 2025 said 1.11.704, the
	// release whose DefaultAWSCredentialsProviderChain gained WebIdentityTokenCredentialsProvider
	// (aws/aws-sdk-java#2136). Below 1.11.704 is "too old"; 1.11.704 up to 1.12.782 is reported
	// as working, with a note that it is below the guide's current number.
	minJavaV1IRSA        = "1.11.704"
	minJavaV1IRSACurrent = "1.12.782"
	minJavaV1PI          = "1.12.746"
	minJavaV2IRSA        = "2.10.11"
	minJavaV2PI          = "2.21.30"

	minRubyIRSA   = "3.58.0"
	minRubyPI     = "3.188.0"
	minDotnetIRSA = "3.3.659.1"
	minDotnetPI   = "3.7.734.0"
	minPHPIRSA    = "3.110.7"
	minPHPPI      = "3.287.1"
	minCppIRSA    = "1.7.174"
	minCppPI      = "1.11.263"
)

// compareVersions orders two dotted versions numerically ("v1.2.10" > "1.2.9"; "3.3.659.1" has
// four parts). A pre-release suffix ("-rc1", a Go pseudo-version's "-0.2019...") sorts before the
// release it precedes; build metadata ("+incompatible") is ignored. ok is false when either is
// not a version at all, so callers say "could not tell" instead of guessing.
func compareVersions(a, b string) (cmp int, ok bool) {
	an, apre, ok1 := parseVersion(a)
	bn, bpre, ok2 := parseVersion(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	for i := 0; i < max(len(an), len(bn)); i++ {
		var x, y uint64
		if i < len(an) {
			x = an[i]
		}
		if i < len(bn) {
			y = bn[i]
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	switch {
	case apre && !bpre:
		return -1, true
	case !apre && bpre:
		return 1, true
	}
	return 0, true
}

// parseVersion reads "v1.2.3-pre+meta" into its numbers and whether it has a pre-release part.
func parseVersion(v string) (nums []uint64, pre bool, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v, _, _ = strings.Cut(v, "+")
	core, suffix, hasSuffix := strings.Cut(v, "-")
	if core == "" || len(core) > 64 {
		return nil, false, false
	}
	for _, part := range strings.Split(core, ".") {
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return nil, false, false
		}
		nums = append(nums, n)
	}
	if len(nums) > 6 {
		return nil, false, false
	}
	return nums, hasSuffix && suffix != "", true
}

// atLeast is a verdict from comparing version with a minimum: ok, too old, or could not tell.
func atLeast(version, minimum string) Support {
	c, ok := compareVersions(version, minimum)
	switch {
	case !ok:
		return Support{Verdict: VerdictUnknown, Minimum: minimum, Note: "version " + quoteShort(version) + " is not a version number"}
	case c < 0:
		return Support{Verdict: VerdictTooOld, Minimum: minimum}
	default:
		return Support{Verdict: VerdictOK, Minimum: minimum}
	}
}

// quoteShort quotes an untrusted string from the image for a note, cut to 40 runes.
func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:37]) + "..."
	}
	return strconv.Quote(s)
}
