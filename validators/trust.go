package validators

// TrustInput is everything the trust checks need about one ServiceAccount and its role.
type TrustInput struct {
	Policy         string // the role's trust policy JSON (already URL-decoded)
	RoleARN        string // as annotated (full ARN); its account/partition tell cross-account (IRSA035)
	Issuer         string // cluster OIDC issuer URL, https://...
	Namespace      string
	ServiceAccount string
	Audience       string // "" means DefaultAudience
}

// CheckTrust predicts whether the role's trust policy lets this ServiceAccount's token assume
// the role (IRSA030-035). A policy that does not parse is reported as IRSA032... (work in progress).
func CheckTrust(obj Object, in TrustInput) []Finding {
	_ = obj
	_ = in
	return nil
}
