// Package imagescan reads a container image through the registry API and finds the AWS SDKs in
// it that are too old for IRSA (web identity) or EKS Pod Identity: the last step of AWS's
// troubleshooting article, "verify that you're using supported AWS SDKs"
// (https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors), made automatic. The
// minimums are the EKS guide's:
// https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html and
// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html (version.go says where
// a number had to be translated).
//
// What it reads, from the layers' tar streams, without extracting anything:
//
//   - Go executables: the build info (debug/buildinfo) lists aws-sdk-go and aws-sdk-go-v2 modules.
//   - Python: METADATA / PKG-INFO of botocore, boto3, boto (legacy: no web identity) and awscli.
//   - JavaScript: package.json of aws-sdk (v2) and of @aws-sdk/credential-provider-node,
//     credential-provider-web-identity and client-sts (v3).
//   - Java: jars and wars (zip, read in memory, bounded): pom.properties, versionInfo.properties,
//     nested lib/*.jar names, and whether the sts module is on the same classpath.
//   - AWS CLI v2 (aws-cli/v2/<version>/dist), Ruby (aws-sdk-core gemspec), .NET (<app>.deps.json:
//     AWSSDK.Core and AWSSDK.SecurityToken), PHP (vendor/composer/installed.json), C++
//     (VersionConfig.h or the CMake package version; a bare libaws-cpp-sdk-core.so is "could not
//     tell").
//
// What it cannot tell: bundled JavaScript, statically linked C++, an SDK copied in without its
// metadata, a stripped Go binary (no build info), which SDK the container's command actually runs.
//
// The image is untrusted input. A scan stays within Options: a budget of uncompressed bytes read
// (skipped content still streams through it), a per-file cap for what is held in memory
// (executables, jars; metadata files have a smaller fixed cap, entries inside jars smaller still),
// a time budget on top of the caller's context, caps on tar entries, on inspected files and on
// path depth, and a cap on a jar's entry count checked before its directory is parsed. Links are
// never followed, paths that climb out of the root are ignored, and whiteouts are respected:
// layers are read top first, so a file deleted or replaced by a higher layer is not reported. What
// was left out is listed in Report.Skipped, grouped by reason.
//
// Cache shares scans by image digest; PullSecretsKeychain reads a pod's imagePullSecrets;
// Report.Findings turns a report into catalog findings (IRSA070-IRSA073).
package imagescan
