package imagescan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"regexp"
	"strings"
)

var errParserPanic = errors.New("parser panicked")

// python reads Name and Version from a distribution's METADATA or PKG-INFO (RFC 822 headers,
// https://packaging.python.org/en/latest/specifications/core-metadata/); the directory name
// (name-version.dist-info) stands in when the headers lack a version.
func (c *collector) python(p string, data []byte) {
	name, version := parsePkgInfo(data)
	dist := path.Base(p)
	if dist == "METADATA" || dist == "PKG-INFO" {
		dist = path.Base(path.Dir(p))
	}
	m := pyDistName.FindStringSubmatch(dist)
	if m == nil {
		return
	}
	if name == "" {
		name = m[1]
	}
	if version == "" {
		version = m[2]
	}
	c.add(pythonSDK(strings.ToLower(name), version, p))
}

func pythonSDK(name, v, p string) SDK {
	s := SDK{Name: name, Version: v, Path: p}
	switch name {
	case "botocore":
		s.IRSA, s.PodIdentity = atLeast(v, minBotocoreIRSA), atLeast(v, minBotoPI)
	case "boto3":
		s.IRSA, s.PodIdentity = atLeast(v, minBoto3IRSA), atLeast(v, minBotoPI)
		const note = "boto3 gets credentials from botocore: botocore's own verdict decides"
		s.IRSA.Note, s.PodIdentity.Note = joinNote(s.IRSA.Note, note), joinNote(s.PodIdentity.Note, note)
	case "awscli":
		s.Name = "aws-cli v1"
		s.IRSA, s.PodIdentity = atLeast(v, minCLIv1IRSA), atLeast(v, minCLIv1PI)
	case "boto":
		const note = "the legacy boto library has no web identity or container credential provider; use boto3"
		s.IRSA = Support{Verdict: VerdictNotCapable, Note: note}
		s.PodIdentity = Support{Verdict: VerdictNotCapable, Note: note}
	}
	return s
}

// parsePkgInfo reads the Name and Version headers: they come first, before the first blank line.
func parsePkgInfo(data []byte) (name, version string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "name":
			name = strings.TrimSpace(v)
		case "version":
			version = strings.TrimSpace(v)
		}
	}
	return name, version
}

// node reads a package.json's name and version: aws-sdk (JS v2) or one of the @aws-sdk/*
// credential packages (JS v3).
func (c *collector) node(p string, data []byte) {
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		c.skip("package.json not readable as JSON", p)
		return
	}
	dir := path.Base(path.Dir(p))
	switch {
	case pkg.Name == "aws-sdk" && dir == "aws-sdk":
		c.add(SDK{Name: "aws-sdk-js (v2)", Version: pkg.Version, Path: p,
			IRSA: atLeast(pkg.Version, minJSv2IRSA), PodIdentity: atLeast(pkg.Version, minJSv2PI)})
	case pkg.Name == "@aws-sdk/"+dir:
		s := SDK{Name: "aws-sdk-js-v3 (" + pkg.Name + ")", Version: pkg.Version, Path: p,
			IRSA: atLeast(pkg.Version, minJSv3IRSA), PodIdentity: atLeast(pkg.Version, minJSv3PI)}
		if dir != "credential-provider-node" {
			// Only the default chain's package tells Pod Identity support.
			s.PodIdentity = unknown(minJSv3PI, "only @aws-sdk/credential-provider-node (the default chain) tells Pod Identity support")
		}
		c.add(s)
	}
}

var dotnetLib = regexp.MustCompile(`^(?i)AWSSDK\.(Core|SecurityToken)/(.+)$`)

// dotnetDeps reads a .NET app's <app>.deps.json: its "libraries" name every package with its
// version, so AWSSDK.Core and AWSSDK.SecurityToken show there.
func (c *collector) dotnetDeps(p string, data []byte) {
	var deps struct {
		Libraries map[string]json.RawMessage `json:"libraries"`
	}
	if err := json.Unmarshal(data, &deps); err != nil {
		c.skip(".deps.json not readable as JSON", p)
		return
	}
	var core, sts string
	for key := range deps.Libraries {
		m := dotnetLib.FindStringSubmatch(key)
		switch {
		case m == nil:
		case strings.EqualFold(m[1], "Core"):
			core = m[2]
		default:
			sts = m[2]
		}
	}
	if core == "" {
		return
	}
	s := SDK{Name: "aws-sdk-net (AWSSDK.Core)", Version: core, Path: p,
		IRSA: atLeast(core, minDotnetIRSA), PodIdentity: atLeast(core, minDotnetPI)}
	if sts == "" && s.IRSA.Verdict == VerdictOK {
		s.IRSA = Support{Verdict: VerdictNotCapable, Minimum: minDotnetIRSA, MissingModule: "AWSSDK.SecurityToken",
			Note: "AWSSDK.SecurityToken is not among the app's packages: web identity needs it"}
	}
	c.add(s)
	c.dotnetDirs = append(c.dotnetDirs, path.Dir(p))
}

// dotnetDLLs reports an AWSSDK.Core.dll that no deps.json of its directory explained.
func (c *collector) dotnetDLLs() []SDK {
	var out []SDK
	for _, p := range c.dotnetDLL {
		explained := false
		for _, d := range c.dotnetDirs {
			explained = explained || d == path.Dir(p)
		}
		if !explained {
			const note = "no <app>.deps.json beside AWSSDK.Core.dll names its version"
			out = append(out, SDK{Name: "aws-sdk-net (AWSSDK.Core)", Path: p, IRSA: unknown(minDotnetIRSA, note), PodIdentity: unknown(minDotnetPI, note)})
		}
	}
	return out
}

// composer finds aws/aws-sdk-php in vendor/composer/installed.json: an array of packages
// (Composer 1) or {"packages": [...]} (Composer 2).
func (c *collector) composer(p string, data []byte) {
	type pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	var v2 struct {
		Packages []pkg `json:"packages"`
	}
	var pkgs []pkg
	if err := json.Unmarshal(data, &v2); err == nil {
		pkgs = v2.Packages
	} else if err := json.Unmarshal(data, &pkgs); err != nil {
		c.skip("installed.json not readable as JSON", p)
		return
	}
	for _, k := range pkgs {
		if k.Name == "aws/aws-sdk-php" {
			c.add(SDK{Name: "aws-sdk-php", Version: k.Version, Path: p, IRSA: atLeast(k.Version, minPHPIRSA), PodIdentity: atLeast(k.Version, minPHPPI)})
			return
		}
	}
}

var cppVersion = regexp.MustCompile(`(?m)^\s*(?:#define\s+AWS_SDK_VERSION_STRING|set\s*\(\s*PACKAGE_VERSION)\s+"([0-9][0-9.]*)"`)

// cppVersion reads the C++ SDK's version from its installed header or CMake package file.
func (c *collector) cppVersion(p string, data []byte) {
	m := cppVersion.FindSubmatch(data)
	if m == nil {
		return
	}
	v := string(m[1])
	c.add(SDK{Name: "aws-sdk-cpp", Version: v, Path: p, IRSA: atLeast(v, minCppIRSA), PodIdentity: atLeast(v, minCppPI)})
	if c.cpp == nil {
		c.cpp = map[string]bool{}
	}
	// <prefix>/include/aws/core/VersionConfig.h and <prefix>/lib/cmake/AWSSDK/*.cmake: both four levels.
	c.cpp[path.Dir(path.Dir(path.Dir(path.Dir(p))))] = true
}
