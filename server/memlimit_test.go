package server

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for name, c := range map[string]struct {
		file, content string
		want          int64
	}{
		"cgroup v2 limit":    {"sys/fs/cgroup/memory.max", "268435456\n", 268435456},
		"cgroup v2 no limit": {"sys/fs/cgroup/memory.max", "max\n", 0},
		"cgroup v1 limit":    {"sys/fs/cgroup/memory/memory.limit_in_bytes", "134217728\n", 134217728},
		"cgroup v1 no limit": {"sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		"no cgroup":          {"", "", 0},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if c.file != "" {
				p := filepath.Join(root, c.file)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := cgroupMemoryLimit(root); got != c.want {
				t.Errorf("limit = %d, want %d", got, c.want)
			}
		})
	}
}

func TestAnExplicitGOMEMLIMITWins(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "sys/fs/cgroup/memory.max")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("268435456"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	if got := setMemoryLimit(root); got != 0 {
		t.Errorf("set %d with GOMEMLIMIT given", got)
	}
}
