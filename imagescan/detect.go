package imagescan

import (
	"archive/tar"
	"path"
	"regexp"
	"slices"
	"strings"
)

// kind is what a file in the image may tell about an AWS SDK, decided from its path alone
// before any of its content is read.
type kind int

const (
	kindNone        kind = iota
	kindELF              // an executable: maybe a Go binary with build info
	kindJar              // a jar or war: Java SDK v1/v2 and the sts module
	kindPyMeta           // botocore/boto3/boto/awscli METADATA or PKG-INFO
	kindNodePkg          // package.json of aws-sdk or a relevant @aws-sdk/* package
	kindDotnetDeps       // <app>.deps.json, listing AWSSDK.* packages
	kindComposer         // vendor/composer/installed.json
	kindCppVersion       // aws/core/VersionConfig.h or AWSSDKConfigVersion.cmake
	kindRubyGemspec      // specifications/aws-sdk-core-<version>.gemspec (name only)
	kindCLIv2            // aws-cli/v2/<version>/dist/aws (name only)
	kindCppLib           // libaws-cpp-sdk-core.so (name only)
	kindDotnetDLL        // AWSSDK.Core.dll (name only)
)

// nameOnly kinds are told from the path; their content is not read.
func (k kind) nameOnly() bool { return k >= kindRubyGemspec }

// whole kinds are read up to MaxFileBytes; the others are small metadata, up to maxMetaBytes.
func (k kind) whole() bool { return k == kindELF || k == kindJar }

var (
	pyDistName = regexp.MustCompile(`^(?i)(botocore|boto3|boto|awscli)-([^-/]+?)(-py[^/]*)?\.(dist-info|egg-info)$`)
	gemspec    = regexp.MustCompile(`^aws-sdk-core-([0-9][0-9A-Za-z.]*)\.gemspec$`)
	cliV2Dir   = regexp.MustCompile(`(^|/)aws-cli/v2/([0-9][0-9.]*)/dist/aws$`)
	nodeV3Pkgs = []string{"credential-provider-node", "credential-provider-web-identity", "client-sts"}
)

// classify decides from the path and header whether a file is worth reading.
func classify(p string, h *tar.Header) kind {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	parent := path.Base(dir)
	switch {
	case strings.HasSuffix(base, ".jar") || strings.HasSuffix(base, ".war"):
		return kindJar
	case (base == "METADATA" && strings.HasSuffix(parent, ".dist-info") || base == "PKG-INFO" && strings.HasSuffix(parent, ".egg-info")) &&
		pyDistName.MatchString(parent) && inSitePackages(path.Dir(dir)):
		return kindPyMeta
	case strings.HasSuffix(base, ".egg-info") && pyDistName.MatchString(base) && inSitePackages(dir):
		return kindPyMeta // a single-file egg-info, as distutils wrote it
	case base == "package.json" && isNodeSDKPackage(dir):
		return kindNodePkg
	case strings.HasSuffix(base, ".deps.json"):
		return kindDotnetDeps
	case base == "installed.json" && strings.HasSuffix(dir, "vendor/composer"):
		return kindComposer
	case base == "VersionConfig.h" && strings.HasSuffix(dir, "aws/core"), base == "AWSSDKConfigVersion.cmake":
		return kindCppVersion
	case parent == "specifications" && gemspec.MatchString(base):
		return kindRubyGemspec
	case cliV2Dir.MatchString(p):
		return kindCLIv2
	case strings.HasPrefix(base, "libaws-cpp-sdk-core.") && (strings.Contains(base, ".so") || strings.HasSuffix(base, ".a")):
		return kindCppLib
	case strings.EqualFold(base, "AWSSDK.Core.dll"):
		return kindDotnetDLL
	case h.Mode&0o111 != 0 && !isSharedLibrary(base):
		return kindELF
	}
	return kindNone
}

func inSitePackages(dir string) bool {
	b := path.Base(dir)
	return b == "site-packages" || b == "dist-packages"
}

// isNodeSDKPackage matches node_modules/aws-sdk and node_modules/@aws-sdk/<one of nodeV3Pkgs>.
func isNodeSDKPackage(dir string) bool {
	if strings.HasSuffix(dir, "node_modules/aws-sdk") || dir == "node_modules/aws-sdk" {
		return true
	}
	scope, pkg := path.Split(dir)
	return strings.HasSuffix(scope, "node_modules/@aws-sdk/") && slices.Contains(nodeV3Pkgs, pkg)
}

// isSharedLibrary skips the executables that cannot be Go programs worth reading: shared
// objects carry the exec bit in most distributions.
func isSharedLibrary(base string) bool {
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.") || strings.HasSuffix(base, ".py") ||
		strings.HasSuffix(base, ".sh") || strings.HasSuffix(base, ".js")
}

// collector gathers what the detectors found during the walk; finish turns it into SDKs.
type collector struct {
	sdks       []SDK
	jars       []jarInfo
	dotnetDLL  []string
	dotnetDirs []string
	cpp        map[string]bool // directories with a VersionConfig.h-derived finding
	skip       func(reason, example string)
}

func (c *collector) add(s SDK) { c.sdks = append(c.sdks, s) }

// content hands a file's bytes to its detector.
func (c *collector) content(k kind, p string, data []byte) {
	switch k {
	case kindELF:
		c.goBinary(p, data)
	case kindJar:
		c.jar(p, data)
	case kindPyMeta:
		c.python(p, data)
	case kindNodePkg:
		c.node(p, data)
	case kindDotnetDeps:
		c.dotnetDeps(p, data)
	case kindComposer:
		c.composer(p, data)
	case kindCppVersion:
		c.cppVersion(p, data)
	}
}

// byName records what a path alone tells.
func (c *collector) byName(k kind, p string) {
	switch k {
	case kindRubyGemspec:
		v := gemspec.FindStringSubmatch(path.Base(p))[1]
		c.add(SDK{Name: "aws-sdk-ruby (aws-sdk-core)", Version: v, Path: p, IRSA: atLeast(v, minRubyIRSA), PodIdentity: atLeast(v, minRubyPI)})
	case kindCLIv2:
		v := cliV2Dir.FindStringSubmatch(p)[2]
		c.add(SDK{Name: "aws-cli v2", Version: v, Path: p, IRSA: Support{Verdict: VerdictOK, Note: "every AWS CLI v2 release supports web identity"},
			PodIdentity: atLeast(v, minCLIv2PI)})
	case kindCppLib:
		c.add(SDK{Name: "aws-sdk-cpp", Path: p, IRSA: unknown(minCppIRSA, noCppVersion), PodIdentity: unknown(minCppPI, noCppVersion)})
	case kindDotnetDLL:
		c.dotnetDLL = append(c.dotnetDLL, p)
	}
}

const noCppVersion = "the library does not name its version; no aws/core/VersionConfig.h or AWSSDKConfigVersion.cmake in the image"

func unknown(minimum, note string) Support {
	return Support{Verdict: VerdictUnknown, Minimum: minimum, Note: note}
}

// finish resolves what needs the whole image (a Java classpath, a .NET DLL without deps.json)
// and orders the result by path.
func (c *collector) finish() []SDK {
	c.sdks = append(c.sdks, javaSDKs(c.jars)...)
	c.sdks = append(c.sdks, c.dotnetDLLs()...)
	c.sdks = slices.DeleteFunc(c.sdks, func(s SDK) bool {
		return s.Name == "aws-sdk-cpp" && s.Version == "" && c.cpp[path.Dir(path.Dir(s.Path))]
	})
	slices.SortStableFunc(c.sdks, func(a, b SDK) int {
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return c.sdks
}
