package validators

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// WebIdentityCall is what irsa-guard knows, before the pod runs, about the
// sts:AssumeRoleWithWebIdentity call its SDK will make. The review engine fills it from the pod's
// environment or, for a ServiceAccount alone, from its annotations. The zero value knows nothing
// about the call: every key that depends on it (the clock, the region, the session name) is then
// known only at call time, so conditions on them are undetermined rather than guessed.
type WebIdentityCall struct {
	// Now is the instant the check stands for: aws:CurrentTime and aws:EpochTime. Zero: unknown.
	Now time.Time
	// Region is the region the pod's SDK is configured with: AWS_REGION, else AWS_DEFAULT_REGION.
	// "" when unset, or when the two disagree (SDKs differ in which they prefer).
	Region string
	// STSRegionalEndpoints is the SDK's STS endpoint mode (AWS_STS_REGIONAL_ENDPOINTS):
	// STSEndpointsRegional, STSEndpointsLegacy, or "" when unset (the default differs between SDKs
	// and their versions). See STSEndpointsMode.
	STSRegionalEndpoints string
	// SessionName is AWS_ROLE_SESSION_NAME; "" means the SDK picks one (sts:RoleSessionName is then
	// known only at call time).
	SessionName string
	// RoleTags are the role's tags (aws:ResourceTag/<key> in a trust policy) when the caller fetched
	// the role; nil means unknown.
	RoleTags map[string]string
}

// The values of AWS_STS_REGIONAL_ENDPOINTS
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-sts-regionalized-endpoints.html).
const (
	STSEndpointsRegional = "regional"
	STSEndpointsLegacy   = "legacy"
)

// STSEndpointsMode returns WebIdentityCall.STSRegionalEndpoints for a container: its
// AWS_STS_REGIONAL_ENDPOINTS value when set; else "regional" when the ServiceAccount's
// eks.amazonaws.com/sts-regional-endpoints annotation is "true", because the pod identity webhook
// then injects AWS_STS_REGIONAL_ENDPOINTS=regional
// (https://github.com/aws/amazon-eks-pod-identity-webhook#eks-annotations); else "" (the SDK's
// default).
func STSEndpointsMode(envValue string, envSet bool, saAnnotation string) string {
	if envSet {
		switch strings.ToLower(strings.TrimSpace(envValue)) {
		case STSEndpointsRegional:
			return STSEndpointsRegional
		case STSEndpointsLegacy:
			return STSEndpointsLegacy
		}
		return ""
	}
	if strings.TrimSpace(saAnnotation) == "true" {
		return STSEndpointsRegional
	}
	return ""
}

// legacyGlobalSTSRegions are the regions in which "legacy" sends STS calls to the global endpoint;
// every other region uses its regional endpoint in either mode
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-sts-regionalized-endpoints.html).
var legacyGlobalSTSRegions = []string{
	"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
	"eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// What a key known only at call time depends on. They end up in findings ("depends on <text>"),
// so they stay short; the fix says how to make the value known.
const (
	dependsNetwork     = "the pod's network path"
	dependsVPCEndpoint = "the pod's STS VPC endpoint"
	dependsSDK         = "the pod's AWS SDK"
	dependsClock       = "the time of the call"
	dependsRoleTags    = "the role's tags"
	dependsSessionName = "the SDK's session name"
	dependsRegionUnset = "the pod's AWS region"
	dependsGlobalSTS   = "STS's global endpoint"
	dependsSDKDefault  = "the SDK's STS endpoint default"
	dependsUndocument  = "STS (undocumented for this call)"
)

// WebIdentityContext builds the request STS evaluates for a pod's sts:AssumeRoleWithWebIdentity
// call: the Federated principal, the token's <issuer host/path>:sub and :aud, and the global and
// STS condition keys as AWS documents them for this call:
//
//   - known before the call: aws:CurrentTime and aws:EpochTime (call.Now), aws:SecureTransport
//     (true: STS takes HTTPS only, https://docs.aws.amazon.com/IAM/latest/UserGuide/programming.html#IAMHTTPSRequired),
//     aws:ViaAWSService (false: the pod calls STS directly), aws:RequestedRegion where the
//     endpoint can be told, sts:RoleSessionName where AWS_ROLE_SESSION_NAME is set, and the role's
//     tags where given;
//   - known only at call time: aws:SourceIp (absent through a VPC endpoint), aws:SourceVpc,
//     aws:SourceVpce, aws:VpcSourceIp and aws:Vpce* (present only through a VPC endpoint),
//     aws:UserAgent, and the rest of the above where call does not tell them;
//   - absent: everything else, e.g. aws:PrincipalArn and aws:PrincipalTag/* (the call is not
//     signed with AWS credentials), aws:TokenIssueTime and aws:MultiFactorAuth* (present only for
//     requests made with temporary credentials), other token claims (a Kubernetes token has no
//     amr or azp), sts:SourceIdentity, sts:TransitiveTagKeys, aws:RequestTag/* and aws:TagKeys
//     (present only when the token carries source identity or session tags, which Kubernetes
//     tokens do not).
//
// Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html and
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html.
// aws:FederatedProvider and sts:RoleAuthorizedByIdp are documented, but not whether STS sets them
// when it evaluates this call: they count as possibly present, value unknown.
func WebIdentityContext(call WebIdentityCall, providerARN, subject, audience string) trustpolicy.Request {
	prov, _ := parseProviderARN(providerARN)
	if audience == "" {
		audience = DefaultAudience
	}
	req := trustpolicy.Request{
		Action:        ActionAssumeRoleWithWebIdentity,
		PrincipalType: "Federated",
		Principal:     providerARN,
		Context: map[string][]string{
			prov.hostPath + ":sub": {subject},
			prov.hostPath + ":aud": {audience},
			"aws:SecureTransport":  {"true"},
			"aws:ViaAWSService":    {"false"},
		},
		Unknown: map[string]trustpolicy.Unknown{
			"aws:SourceIp":            {DependsOn: dependsNetwork, MaybeAbsent: true},
			"aws:SourceVpc":           {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:SourceVpce":          {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:VpcSourceIp":         {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:VpceAccount":         {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:VpceOrgID":           {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:VpceOrgPaths":        {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
			"aws:UserAgent":           {DependsOn: dependsSDK},
			"aws:FederatedProvider":   {DependsOn: dependsUndocument, MaybeAbsent: true},
			"sts:RoleAuthorizedByIdp": {DependsOn: dependsUndocument, MaybeAbsent: true},
		},
		Types: map[string]trustpolicy.KeyType{
			prov.hostPath + ":sub":    trustpolicy.TypeString,
			prov.hostPath + ":aud":    trustpolicy.TypeString,
			"aws:CurrentTime":         trustpolicy.TypeDate,
			"aws:EpochTime":           trustpolicy.TypeDate | trustpolicy.TypeNumeric,
			"aws:SecureTransport":     trustpolicy.TypeBool,
			"aws:ViaAWSService":       trustpolicy.TypeBool,
			"aws:RequestedRegion":     trustpolicy.TypeString,
			"aws:SourceIp":            trustpolicy.TypeIP,
			"aws:VpcSourceIp":         trustpolicy.TypeIP,
			"aws:SourceVpc":           trustpolicy.TypeString,
			"aws:SourceVpce":          trustpolicy.TypeString,
			"aws:VpceAccount":         trustpolicy.TypeString,
			"aws:VpceOrgID":           trustpolicy.TypeString,
			"aws:VpceOrgPaths":        trustpolicy.TypeString,
			"aws:UserAgent":           trustpolicy.TypeString,
			"aws:FederatedProvider":   trustpolicy.TypeString | trustpolicy.TypeARN,
			"sts:RoleSessionName":     trustpolicy.TypeString,
			"sts:RoleAuthorizedByIdp": trustpolicy.TypeBool,
			"aws:ResourceTag/*":       trustpolicy.TypeString,
			"iam:ResourceTag/*":       trustpolicy.TypeString,
		},
	}
	if call.Now.IsZero() {
		req.Unknown["aws:CurrentTime"] = trustpolicy.Unknown{DependsOn: dependsClock}
		req.Unknown["aws:EpochTime"] = trustpolicy.Unknown{DependsOn: dependsClock}
	} else {
		req.Context["aws:CurrentTime"] = []string{call.Now.UTC().Format(time.RFC3339)}
		req.Context["aws:EpochTime"] = []string{strconv.FormatInt(call.Now.Unix(), 10)}
	}
	if region, why := call.requestedRegion(); why == "" {
		req.Context["aws:RequestedRegion"] = []string{region}
	} else {
		req.Unknown["aws:RequestedRegion"] = trustpolicy.Unknown{DependsOn: why}
	}
	if call.SessionName != "" {
		req.Context["sts:RoleSessionName"] = []string{call.SessionName}
	} else {
		req.Unknown["sts:RoleSessionName"] = trustpolicy.Unknown{DependsOn: dependsSessionName}
	}
	if call.RoleTags == nil {
		req.Unknown["aws:ResourceTag/*"] = trustpolicy.Unknown{DependsOn: dependsRoleTags, MaybeAbsent: true}
		req.Unknown["iam:ResourceTag/*"] = trustpolicy.Unknown{DependsOn: dependsRoleTags, MaybeAbsent: true}
	}
	for k, v := range call.RoleTags {
		req.Context["aws:ResourceTag/"+k] = []string{v}
		req.Context["iam:ResourceTag/"+k] = []string{v}
	}
	return req
}

// requestedRegion is aws:RequestedRegion for the call, or why it cannot be told. A regional
// endpoint's region is the SDK's region. In the legacy mode the SDK calls the global endpoint for
// the regions in legacyGlobalSTSRegions; AWS now serves those calls "in the same AWS Region as
// your workloads" in Regions enabled by default
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html#reference_sts_global_endpoint_changes)
// and does not document the key's value for them, so it is known only at call time. Partitions
// other than aws have no legacy global endpoint: their regions are not in the list.
func (c WebIdentityCall) requestedRegion() (region, unknownBecause string) {
	switch {
	case c.Region == "":
		return "", dependsRegionUnset
	case c.STSRegionalEndpoints == STSEndpointsRegional || !slices.Contains(legacyGlobalSTSRegions, c.Region):
		return c.Region, ""
	case c.STSRegionalEndpoints == STSEndpointsLegacy:
		return "", dependsGlobalSTS
	}
	return "", dependsSDKDefault
}
