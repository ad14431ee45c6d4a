package config

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Load reads o.ConfigFile, if set, over the defaults and then re-applies every flag given on
// the command line, so flags always win over the file. Unknown keys are an error: a typo in a
// config file must not silently fall back to a default.
func (o *Options) Load(fs *pflag.FlagSet) error {
	if o.ConfigFile == "" {
		return nil
	}
	data, err := os.ReadFile(o.ConfigFile)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	type changed struct{ name, value string }
	var flags []changed
	fs.Visit(func(f *pflag.Flag) {
		if f.Name != "config" {
			flags = append(flags, changed{f.Name, f.Value.String()})
		}
	})
	if err := yaml.UnmarshalStrict(data, o); err != nil {
		return fmt.Errorf("config file %s: %w (keys are listed in charts/irsa-guard/values.yaml under config)", o.ConfigFile, err)
	}
	for _, f := range flags {
		if err := fs.Set(f.name, stripBrackets(fs.Lookup(f.name), f.value)); err != nil {
			return fmt.Errorf("re-apply --%s over the config file: %w", f.name, err)
		}
	}
	return nil
}

// stripBrackets turns a map flag's String() form "[a=b,c=d]" back into its Set() form.
func stripBrackets(f *pflag.Flag, v string) string {
	if f.Value.Type() == "stringToString" && len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' {
		return v[1 : len(v)-1]
	}
	return v
}
