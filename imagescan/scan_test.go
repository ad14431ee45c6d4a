package imagescan

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const site = "usr/lib/python3.11/site-packages/"

func TestSDKsBelowAndAboveTheirMinimums(t *testing.T) {
	nodePkg := func(name, version string) string { return `{"name":"` + name + `","version":"` + version + `"}` }
	deps := func(libs ...string) string {
		s := `{"runtimeTarget":{},"libraries":{`
		for i, l := range libs {
			if i > 0 {
				s += ","
			}
			s += `"` + l + `":{"type":"package"}`
		}
		return s + "}}"
	}
	files := []file{
		text(site+"botocore-1.12.199.dist-info/METADATA", "Metadata-Version: 2.1\nName: botocore\nVersion: 1.12.199\n\nbody"),
		text("opt/new/"+site+"botocore-1.34.41.dist-info/METADATA", "Name: botocore\nVersion: 1.34.41\n"),
		text(site+"boto3-1.9.219.dist-info/METADATA", "Name: boto3\nVersion: 1.9.219\n"),
		text("opt/egg/"+site+"boto3-1.9.220-py2.7.egg-info", "Metadata-Version: 1.1\nName: boto3\nVersion: 1.9.220\n"),
		text(site+"boto-2.49.0.dist-info/METADATA", "Name: boto\nVersion: 2.49.0\n"),
		text(site+"awscli-1.16.231.dist-info/METADATA", "Name: awscli\nVersion: 1.16.231\n"),
		text(site+"requests-2.0.dist-info/METADATA", "Name: requests\nVersion: 2.0\n"),
		text("app/node_modules/aws-sdk/package.json", nodePkg("aws-sdk", "2.524.0")),
		text("new/node_modules/aws-sdk/package.json", nodePkg("aws-sdk", "2.1550.0")),
		text("app/node_modules/@aws-sdk/credential-provider-node/package.json", nodePkg("@aws-sdk/credential-provider-node", "3.26.0")),
		text("new/node_modules/@aws-sdk/credential-provider-node/package.json", nodePkg("@aws-sdk/credential-provider-node", "3.458.0")),
		text("app/node_modules/@aws-sdk/client-s3/package.json", nodePkg("@aws-sdk/client-s3", "3.1.0")),
		text("usr/local/bundle/specifications/aws-sdk-core-3.57.0.gemspec", "# gemspec"),
		text("srv/specifications/aws-sdk-core-3.188.0.gemspec", "# gemspec"),
		text("dotnet/old/App.deps.json", deps("AWSSDK.Core/3.3.659.0", "AWSSDK.SecurityToken/3.3.0")),
		text("dotnet/nosts/App.deps.json", deps("AWSSDK.Core/3.7.734.0", "Newtonsoft.Json/13.0.1")),
		text("dotnet/bare/AWSSDK.Core.dll", "MZ"),
		text("php/vendor/composer/installed.json", `{"packages":[{"name":"guzzle/guzzle","version":"7.0"},{"name":"aws/aws-sdk-php","version":"3.110.6"}]}`),
		text("php1/vendor/composer/installed.json", `[{"name":"aws/aws-sdk-php","version":"3.287.1"}]`),
		text("usr/local/include/aws/core/VersionConfig.h", "#pragma once\n#define AWS_SDK_VERSION_STRING \"1.11.262\"\n"),
		text("usr/local/lib/libaws-cpp-sdk-core.so", "ELF"),
		text("opt/cpp/lib/libaws-cpp-sdk-core.so", "ELF"),
		exe("usr/local/aws-cli/v2/2.14.6/dist/aws", []byte("ELF")),
	}
	rep := scan(t, push(t, registryServer(t), "many", layer(t, files...)), Options{})

	tests := map[string]struct {
		name, path  string
		irsa, podID Verdict
	}{
		"botocore below 1.12.200":             {"botocore", "/" + site + "botocore-1.12.199.dist-info/METADATA", VerdictTooOld, VerdictTooOld},
		"botocore at 1.34.41":                 {"botocore", "/opt/new/" + site + "botocore-1.34.41.dist-info/METADATA", VerdictOK, VerdictOK},
		"boto3 below 1.9.220":                 {"boto3", "boto3-1.9.219.dist-info/METADATA", VerdictTooOld, VerdictTooOld},
		"boto3 single-file egg-info":          {"boto3", "boto3-1.9.220-py2.7.egg-info", VerdictOK, VerdictTooOld},
		"legacy boto cannot do either":        {"boto", "", VerdictNotCapable, VerdictNotCapable},
		"AWS CLI v1 below 1.16.232":           {"aws-cli v1", "", VerdictTooOld, VerdictTooOld},
		"AWS CLI v2 below 2.15.0":             {"aws-cli v2", "/usr/local/aws-cli/v2/2.14.6/dist/aws", VerdictOK, VerdictTooOld},
		"JS v2 below 2.525.0":                 {"aws-sdk-js (v2)", "/app/node_modules/aws-sdk/package.json", VerdictTooOld, VerdictTooOld},
		"JS v2 at 2.1550.0":                   {"aws-sdk-js (v2)", "/new/node_modules/aws-sdk/package.json", VerdictOK, VerdictOK},
		"JS v3 below 3.27.0":                  {"aws-sdk-js-v3 (@aws-sdk/credential-provider-node)", "/app/node_modules/@aws-sdk/credential-provider-node/package.json", VerdictTooOld, VerdictTooOld},
		"JS v3 at 3.458.0":                    {"aws-sdk-js-v3 (@aws-sdk/credential-provider-node)", "/new/node_modules/@aws-sdk/credential-provider-node/package.json", VerdictOK, VerdictOK},
		"Ruby below 3.58.0":                   {"aws-sdk-ruby (aws-sdk-core)", "aws-sdk-core-3.57.0.gemspec", VerdictTooOld, VerdictTooOld},
		"Ruby at 3.188.0":                     {"aws-sdk-ruby (aws-sdk-core)", "aws-sdk-core-3.188.0.gemspec", VerdictOK, VerdictOK},
		".NET below 3.3.659.1":                {"aws-sdk-net (AWSSDK.Core)", "/dotnet/old/App.deps.json", VerdictTooOld, VerdictTooOld},
		".NET without AWSSDK.SecurityToken":   {"aws-sdk-net (AWSSDK.Core)", "/dotnet/nosts/App.deps.json", VerdictNotCapable, VerdictOK},
		".NET DLL alone: could not tell":      {"aws-sdk-net (AWSSDK.Core)", "/dotnet/bare/AWSSDK.Core.dll", VerdictUnknown, VerdictUnknown},
		"PHP below 3.110.7 (Composer 2)":      {"aws-sdk-php", "/php/vendor/composer/installed.json", VerdictTooOld, VerdictTooOld},
		"PHP at 3.287.1 (Composer 1)":         {"aws-sdk-php", "/php1/vendor/composer/installed.json", VerdictOK, VerdictOK},
		"C++ header below 1.11.263":           {"aws-sdk-cpp", "VersionConfig.h", VerdictOK, VerdictTooOld},
		"C++ library without headers: unsure": {"aws-sdk-cpp", "/opt/cpp/lib/libaws-cpp-sdk-core.so", VerdictUnknown, VerdictUnknown},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, ok := byName(rep, tc.name, tc.path)
			if !ok {
				t.Fatalf("%s at %s not found in %+v", tc.name, tc.path, rep.SDKs)
			}
			if s.IRSA.Verdict != tc.irsa || s.PodIdentity.Verdict != tc.podID {
				t.Errorf("got IRSA %+v, Pod Identity %+v", s.IRSA, s.PodIdentity)
			}
		})
	}
	if _, ok := byName(rep, "aws-sdk-cpp", "/usr/local/lib/libaws-cpp-sdk-core.so"); ok {
		t.Error("a library beside the headers that name its version is reported a second time")
	}
	if len(rep.SDKs) != len(tests) {
		t.Errorf("want %d SDKs, got %d: %+v", len(tests), len(rep.SDKs), rep.SDKs)
	}
	if !rep.Complete || len(rep.Skipped) != 0 || rep.Digest == "" || rep.Platform != "linux/amd64" {
		t.Errorf("report: complete %v, skipped %+v, digest %q, platform %q", rep.Complete, rep.Skipped, rep.Digest, rep.Platform)
	}
}

func TestJavaClasspaths(t *testing.T) {
	v2thin := func(artifact, version string) []byte {
		return jar(t, [2]string{"META-INF/maven/software.amazon.awssdk/" + artifact + "/pom.properties", pom(version)})
	}
	v2auth := jar(t, [2]string{v2AuthClass, "class"}, [2]string{v2AuthPom, pom("2.20.0")})
	v1core := func(version string) []byte {
		return jar(t, [2]string{v1CoreClass, "class"}, [2]string{v1VersionRes, "platform=java\nversion=" + version + "\n"})
	}
	bootJar := jar(t, [2]string{"BOOT-INF/lib/aws-core-2.10.10.jar", ""}, [2]string{"BOOT-INF/lib/sts-2.10.10.jar", ""},
		[2]string{"BOOT-INF/lib/spring-core-6.0.0.jar", ""})
	files := []file{
		{name: "nosts/lib/auth-2.20.0.jar", body: v2auth},
		{name: "nosts/lib/sdk-core-2.20.0.jar", body: v2thin("sdk-core", "2.20.0")},
		{name: "withsts/lib/auth-2.21.30.jar", body: jar(t, [2]string{v2AuthClass, "class"}, [2]string{v2AuthPom, pom("2.21.30")})},
		{name: "withsts/lib/sts-2.21.30.jar", body: jar(t, [2]string{v2STSClass, "class"}, [2]string{v2STSPom, pom("2.21.30")})},
		{name: "v1old/aws-java-sdk-core-1.11.703.jar", body: v1core("1.11.703")},
		{name: "v1old/aws-java-sdk-sts-1.11.703.jar", body: jar(t, [2]string{v1STSClass, ""})},
		{name: "v1mid/aws-java-sdk-core-1.12.500.jar", body: v1core("1.12.500")},
		{name: "v1mid/aws-java-sdk-sts-1.12.500.jar", body: jar(t, [2]string{v1STSPom, pom("1.12.500")})},
		{name: "boot/app.jar", body: bootJar},
	}
	rep := scan(t, push(t, registryServer(t), "java", layer(t, files...)), Options{})
	tests := map[string]struct {
		name, path  string
		version     string
		irsa, podID Verdict
		missing     string
	}{
		"v2 without sts on its classpath":    {"aws-sdk-java-v2", "/nosts/lib/auth-2.20.0.jar", "2.20.0", VerdictUnknown, VerdictTooOld, "software.amazon.awssdk:sts"},
		"v2 with sts at the PI minimum":      {"aws-sdk-java-v2", "/withsts/lib/auth-2.21.30.jar", "2.21.30", VerdictOK, VerdictOK, ""},
		"v1 below 1.11.704":                  {"aws-java-sdk (v1)", "/v1old/aws-java-sdk-core-1.11.703.jar", "1.11.703", VerdictTooOld, VerdictTooOld, ""},
		"v1 between the two documented":      {"aws-java-sdk (v1)", "/v1mid/aws-java-sdk-core-1.12.500.jar", "1.12.500", VerdictOK, VerdictTooOld, ""},
		"Spring Boot jar with old v2 nested": {"aws-sdk-java-v2", "/boot/app.jar", "2.10.10", VerdictTooOld, VerdictTooOld, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, ok := byName(rep, tc.name, tc.path)
			if !ok {
				t.Fatalf("not found in %+v", rep.SDKs)
			}
			if s.Version != tc.version || s.IRSA.Verdict != tc.irsa || s.PodIdentity.Verdict != tc.podID || s.IRSA.MissingModule != tc.missing {
				t.Errorf("got %+v", s)
			}
		})
	}
	// The sts jar of /withsts is elsewhere in the image: /nosts is "could not tell", not "not capable".
	s, _ := byName(rep, "aws-sdk-java-v2", "/nosts/lib/auth-2.20.0.jar")
	if !strings.Contains(s.IRSA.Note, "/withsts/lib/sts-2.21.30.jar") {
		t.Errorf("note should name the sts jar found elsewhere: %q", s.IRSA.Note)
	}
	if s, _ := byName(rep, "aws-java-sdk (v1)", "/v1mid/aws-java-sdk-core-1.12.500.jar"); !strings.Contains(s.IRSA.Note, minJavaV1IRSACurrent) {
		t.Errorf("a v1 SDK below the current documented minimum should say so: %+v", s.IRSA)
	}

	alone := scan(t, push(t, registryServer(t), "java-nosts", layer(t, files[0], files[1])), Options{})
	s, ok := byName(alone, "aws-sdk-java-v2", "")
	if !ok || s.IRSA.Verdict != VerdictNotCapable || s.IRSA.MissingModule != "software.amazon.awssdk:sts" {
		t.Errorf("Java v2 without sts anywhere: got %+v", alone.SDKs)
	}
}

func TestWhiteoutsHideDeletedAndReplacedFiles(t *testing.T) {
	meta := func(v string) string { return "Name: botocore\nVersion: " + v + "\n" }
	base := layer(t,
		text(site+"botocore-1.10.0.dist-info/METADATA", meta("1.10.0")),
		text("app/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.1.0"}`),
		text("opaque/"+site+"botocore-1.11.0.dist-info/METADATA", meta("1.11.0")),
		text("replaced/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.2.0"}`),
	)
	top := layer(t,
		whiteout(site[:len(site)-1], "botocore-1.10.0.dist-info"),
		whiteout("app", "node_modules"),
		text("opaque/"+site+".wh..wh..opq", ""),
		text("opaque/"+site+"botocore-1.34.41.dist-info/METADATA", meta("1.34.41")),
		text("replaced/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.1550.0"}`),
	)
	rep := scan(t, push(t, registryServer(t), "whiteouts", base, top), Options{})
	if len(rep.SDKs) != 2 {
		t.Fatalf("want only the top layer's botocore 1.34.41 and aws-sdk 2.1550.0, got %+v", rep.SDKs)
	}
	for _, s := range rep.SDKs {
		if s.Version != "1.34.41" && s.Version != "2.1550.0" {
			t.Errorf("a deleted or replaced file was reported: %+v", s)
		}
	}
}

func TestMultiPlatformIndexPicksThePlatform(t *testing.T) {
	srv := registryServer(t)
	var idx v1.ImageIndex = empty.Index
	for arch, version := range map[string]string{"amd64": "1.12.199", "arm64": "1.34.41"} {
		img, err := mutate.AppendLayers(empty.Image, layer(t, text(site+"botocore-"+version+".dist-info/METADATA", "Name: botocore\nVersion: "+version+"\n")))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch}); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/multi:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	rep := scan(t, ref.String(), Options{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	if rep.Platform != "linux/arm64" || len(rep.SDKs) != 1 || rep.SDKs[0].Version != "1.34.41" {
		t.Errorf("got %s %+v", rep.Platform, rep.SDKs)
	}
	if rep := scan(t, ref.String(), Options{}); len(rep.SDKs) != 1 || rep.SDKs[0].Version != "1.12.199" {
		t.Errorf("the default platform is linux/amd64: got %s %+v", rep.Platform, rep.SDKs)
	}
}
