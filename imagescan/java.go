package imagescan

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// jarInfo is what one jar tells about the Java SDKs: v1 (com.amazonaws) and v2
// (software.amazon.awssdk), each with or without its sts module.
type jarInfo struct {
	path                 string
	v1, v2               bool
	v1Version, v2Version string
	v1STS, v2STS         bool
	// fat: the jar carries its own classpath (nested lib/*.jar, or several shaded artifacts), so
	// it is judged alone rather than together with the jars of its directory.
	fat bool
}

// Entries that mark the SDKs and their sts modules, in thin and shaded jars alike.
const (
	v1CoreClass  = "com/amazonaws/auth/DefaultAWSCredentialsProviderChain.class"
	v1VersionRes = "com/amazonaws/sdk/versionInfo.properties"
	v1CorePom    = "META-INF/maven/com.amazonaws/aws-java-sdk-core/pom.properties"
	v1STSClass   = "com/amazonaws/services/securitytoken/AWSSecurityTokenServiceClient.class"
	v1STSPom     = "META-INF/maven/com.amazonaws/aws-java-sdk-sts/pom.properties"
	v2AuthClass  = "software/amazon/awssdk/auth/credentials/DefaultCredentialsProvider.class"
	v2AuthPom    = "META-INF/maven/software.amazon.awssdk/auth/pom.properties"
	v2STSClass   = "software/amazon/awssdk/services/sts/StsClient.class"
	v2STSPom     = "META-INF/maven/software.amazon.awssdk/sts/pom.properties"
)

// Nested jars of a Spring Boot, WAR or similar fat jar, told by file name.
var (
	nestedJar     = regexp.MustCompile(`^(?:BOOT-INF/lib|WEB-INF/lib|lib)/([^/]+)\.jar$`)
	nestedV1Core  = regexp.MustCompile(`^aws-java-sdk-core-(\d[\w.-]*)$`)
	nestedV1STS   = regexp.MustCompile(`^aws-java-sdk-sts-\d`)
	nestedV2Core  = regexp.MustCompile(`^aws-core-(2\.\d+\.\d+)$`)
	nestedV2STS   = regexp.MustCompile(`^sts-2\.\d+\.\d+$`)
	errZipEntries = fmt.Errorf("more than %d entries", maxZipEntries)
)

// jar reads a jar from memory; its entries are read bounded, never extracted.
func (c *collector) jar(p string, data []byte) {
	j, err := readJar(data)
	if err != nil {
		c.skip("jar not readable: "+err.Error(), p)
		return
	}
	if j.v1 || j.v2 || j.v1STS || j.v2STS {
		j.path = p
		c.jars = append(c.jars, j)
	}
}

// readJar parses a jar's directory and the few small entries that carry versions.
func readJar(data []byte) (j jarInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			j, err = jarInfo{}, errParserPanic
		}
	}()
	if n, ok := zipEntryCount(data); ok && n > maxZipEntries {
		return j, errZipEntries
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return j, err
	}
	if len(zr.File) > maxZipEntries {
		return j, errZipEntries
	}
	poms := 0
	for _, f := range zr.File {
		switch f.Name {
		case v1CoreClass:
			j.v1 = true
		case v1VersionRes, v1CorePom:
			j.v1, j.v1Version = true, firstNonEmpty(j.v1Version, propertyOf(f, "version"))
		case v1STSClass, v1STSPom:
			j.v1STS = true
		case v2AuthClass:
			j.v2 = true
		case v2AuthPom:
			j.v2, j.v2Version = true, firstNonEmpty(j.v2Version, propertyOf(f, "version"))
		case v2STSClass, v2STSPom:
			j.v2STS = true
		}
		if strings.HasPrefix(f.Name, "META-INF/maven/") && strings.HasSuffix(f.Name, "/pom.properties") {
			poms++
		}
		if m := nestedJar.FindStringSubmatch(f.Name); m != nil {
			j.fat = true
			j.nested(m[1])
		}
	}
	j.fat = j.fat || poms > 1
	return j, nil
}

// nested notes what a nested jar's file name (without ".jar") tells.
func (j *jarInfo) nested(name string) {
	if m := nestedV1Core.FindStringSubmatch(name); m != nil {
		j.v1, j.v1Version = true, firstNonEmpty(j.v1Version, m[1])
	}
	if m := nestedV2Core.FindStringSubmatch(name); m != nil {
		j.v2, j.v2Version = true, firstNonEmpty(j.v2Version, m[1])
	}
	j.v1STS = j.v1STS || nestedV1STS.MatchString(name)
	j.v2STS = j.v2STS || nestedV2STS.MatchString(name)
}

// propertyOf reads key from a small .properties entry; a bomb stops at maxPropertiesBytes.
func propertyOf(f *zip.File, key string) string {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	return parseProperties(io.LimitReader(rc, maxPropertiesBytes), key)
}

const maxPropertiesBytes = 64 << 10

// parseProperties finds key=value (or key: value) in Java properties text.
func parseProperties(r io.Reader, key string) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxPropertiesBytes)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i > 0 && strings.TrimSpace(line[:i]) == key {
			return strings.TrimSpace(line[i+1:])
		}
	}
	return ""
}

// zipEntryCount reads the entry count from the end-of-central-directory record (zip64 too),
// so a jar claiming millions of entries is refused before archive/zip allocates for them.
func zipEntryCount(data []byte) (uint64, bool) {
	start := max(0, len(data)-(22+65535))
	i := bytes.LastIndex(data[start:], []byte("PK\x05\x06"))
	if i < 0 || start+i+22 > len(data) {
		return 0, false
	}
	eocd := start + i
	if n := binary.LittleEndian.Uint16(data[eocd+10:]); n != 0xFFFF {
		return uint64(n), true
	}
	loc := eocd - 20
	if loc < 0 || string(data[loc:loc+4]) != "PK\x06\x07" {
		return 0, false
	}
	off := binary.LittleEndian.Uint64(data[loc+8:])
	if off > uint64(len(data)) || uint64(len(data))-off < 56 || string(data[off:off+4]) != "PK\x06\x06" {
		return 0, false
	}
	return binary.LittleEndian.Uint64(data[off+32:]), true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// javaSDKs groups jars into classpaths (a fat jar alone; thin jars by directory) and judges each
// SDK there, including whether its sts module is beside it.
func javaSDKs(jars []jarInfo) []SDK {
	units := map[string]*jarInfo{}
	var order []string
	for _, j := range jars {
		key := path.Dir(j.path)
		if j.fat {
			key = j.path
		}
		u, ok := units[key]
		if !ok {
			u = &jarInfo{}
			units[key] = u
			order = append(order, key)
		}
		if j.v1 && (!u.v1 || u.v1Version == "") {
			u.v1, u.v1Version, u.path = true, j.v1Version, j.path
		}
		if j.v2 && (!u.v2 || u.v2Version == "") {
			u.v2, u.v2Version = true, j.v2Version
			u.path = firstNonEmpty(u.path, j.path)
		}
		u.v1STS, u.v2STS = u.v1STS || j.v1STS, u.v2STS || j.v2STS
	}
	var out []SDK
	for _, key := range order {
		u := units[key]
		if u.v1 {
			out = append(out, javaSDK("aws-java-sdk (v1)", u.v1Version, u.path, minJavaV1IRSA, minJavaV1PI, u.v1STS,
				"com.amazonaws:aws-java-sdk-sts", otherSTS(jars, key, func(j jarInfo) bool { return j.v1STS })))
		}
		if u.v2 {
			out = append(out, javaSDK("aws-sdk-java-v2", u.v2Version, u.path, minJavaV2IRSA, minJavaV2PI, u.v2STS,
				"software.amazon.awssdk:sts", otherSTS(jars, key, func(j jarInfo) bool { return j.v2STS })))
		}
	}
	return out
}

// otherSTS names a jar outside the unit that has the sts module: it may be on the classpath too.
func otherSTS(jars []jarInfo, unit string, has func(jarInfo) bool) string {
	for _, j := range jars {
		if has(j) && j.path != unit && path.Dir(j.path) != unit {
			return j.path
		}
	}
	return ""
}

func javaSDK(name, v, p, minIRSA, minPI string, sts bool, stsModule, stsElsewhere string) SDK {
	s := SDK{Name: name, Version: v, Path: p}
	const noVersion = "no pom.properties, versionInfo.properties or versioned jar name tells the version"
	if v == "" {
		s.IRSA, s.PodIdentity = unknown(minIRSA, noVersion), unknown(minPI, noVersion)
	} else {
		s.IRSA, s.PodIdentity = atLeast(v, minIRSA), atLeast(v, minPI)
	}
	if minIRSA == minJavaV1IRSA && s.IRSA.Verdict == VerdictOK {
		if c, _ := compareVersions(v, minJavaV1IRSACurrent); c < 0 {
			s.IRSA.Note = "below " + minJavaV1IRSACurrent + ", the EKS guide's current minimum; web identity works since " + minJavaV1IRSA
		}
	}
	switch {
	case sts || s.IRSA.Verdict == VerdictTooOld:
	case stsElsewhere != "":
		s.IRSA = Support{Verdict: VerdictUnknown, Minimum: minIRSA, MissingModule: stsModule,
			Note: "no " + stsModule + " beside it; " + stsElsewhere + " has it and may be on the same classpath"}
	default:
		s.IRSA = Support{Verdict: VerdictNotCapable, Minimum: minIRSA, MissingModule: stsModule,
			Note: "no " + stsModule + " on its classpath: the web identity provider is skipped"}
	}
	return s
}
