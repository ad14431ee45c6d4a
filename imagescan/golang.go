package imagescan

import (
	"bytes"
	"debug/buildinfo"
	"runtime/debug"
)

// goBinary reads a Go executable's build info (the module list the linker embedded) and reports
// the AWS SDK modules it links. A binary that is not Go, or is stripped of build info, says nothing.
func (c *collector) goBinary(p string, data []byte) {
	info, err := readBuildInfo(data)
	if err != nil {
		return
	}
	mods := map[string]string{}
	for _, d := range info.Deps {
		// A module replaced by another module version reports that version; one replaced by a
		// directory reports "(devel)", and the required version is the best left.
		v := d.Version
		if d.Replace != nil && d.Replace.Version != "" && d.Replace.Version != "(devel)" {
			v = d.Replace.Version
		}
		mods[d.Path] = v
	}
	if v, ok := mods["github.com/aws/aws-sdk-go"]; ok {
		c.add(SDK{Name: "aws-sdk-go", Version: v, Path: p, IRSA: atLeast(v, minGoV1IRSA), PodIdentity: atLeast(v, minGoV1PI)})
	}
	if s, ok := goV2(mods); ok {
		s.Path = p
		c.add(s)
	}
}

// readBuildInfo is debug/buildinfo on untrusted bytes: it recovers from a panic in the parser
// (none is known; the fuzz target looks for one) so one odd binary cannot stop the scan.
func readBuildInfo(data []byte) (info *debug.BuildInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, errParserPanic
		}
	}()
	return buildinfo.Read(bytes.NewReader(data))
}

// goV2 judges aws-sdk-go-v2 from the modules that resolve credentials: config (the default
// chain) and credentials (the providers). Web identity is in every release; Pod Identity needs
// config v1.25.0 / credentials v1.16.0 (see minGoV2ConfigPI).
func goV2(mods map[string]string) (SDK, bool) {
	core, hasCore := mods["github.com/aws/aws-sdk-go-v2"]
	cfg, hasConfig := mods["github.com/aws/aws-sdk-go-v2/config"]
	creds, hasCreds := mods["github.com/aws/aws-sdk-go-v2/credentials"]
	if !hasCore && !hasConfig && !hasCreds {
		return SDK{}, false
	}
	s := SDK{Name: "aws-sdk-go-v2", Version: core}
	switch {
	case hasConfig:
		s.IRSA = Support{Verdict: VerdictOK, Note: "every aws-sdk-go-v2 release supports web identity"}
		s.PodIdentity = atLeast(cfg, minGoV2ConfigPI)
		s.PodIdentity.Note = joinNote("github.com/aws/aws-sdk-go-v2/config "+cfg, s.PodIdentity.Note)
	case hasCreds:
		const note = "the binary does not link github.com/aws/aws-sdk-go-v2/config, so it builds its own credential chain"
		s.IRSA = unknown("", note)
		s.PodIdentity = atLeast(creds, minGoV2CredentialsPI)
		s.PodIdentity.Note = joinNote("github.com/aws/aws-sdk-go-v2/credentials "+creds+"; "+note, s.PodIdentity.Note)
	default:
		const note = "the binary links neither the config nor the credentials module: it uses no SDK credential provider"
		s.IRSA = unknown("", note)
		s.PodIdentity = unknown(minGoV2ConfigPI, note)
	}
	return s, true
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
