package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryCgroup holds serve to a container's memory limit on this machine (SCALE_MEMORY_LIMIT,
// MiB): the kernel enforces it as it does for the chart's `resources.limits.memory`, so a run
// shows whether the limit holds, not only what RSS was. It uses the cgroup v1 memory controller
// at /sys/fs/cgroup/memory or cgroup v2 at /sys/fs/cgroup (or /sys/fs/cgroup/unified).
type memoryCgroup struct {
	dir string
	v2  bool
}

func newMemoryCgroup(limitMiB, size int) (*memoryCgroup, error) {
	name := fmt.Sprintf("irsa-guard-scale-%d-%d", os.Getpid(), size)
	limit := strconv.Itoa(limitMiB << 20)
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		c := &memoryCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", name)}
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("SCALE_MEMORY_LIMIT needs a memory cgroup (run as root): %w", err)
		}
		return c, c.write(map[string]string{"memory.limit_in_bytes": limit})
	}
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
			continue
		}
		c := &memoryCgroup{dir: filepath.Join(root, name), v2: true}
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("SCALE_MEMORY_LIMIT needs a memory cgroup (run as root): %w", err)
		}
		return c, c.write(map[string]string{"memory.max": limit})
	}
	return nil, fmt.Errorf("SCALE_MEMORY_LIMIT: no memory cgroup controller on this machine")
}

func (c *memoryCgroup) write(files map[string]string) error {
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(c.dir, f), []byte(v), 0o600); err != nil {
			return fmt.Errorf("cgroup %s: %w", f, err)
		}
	}
	return nil
}

// around runs start (which starts serve) with this process in the cgroup, so that serve is forked
// into it and every page it touches is charged there (a process moved later would leave its charges
// behind), then moves this process back to the cgroup's parent.
func (c *memoryCgroup) around(start func() error) error {
	self := strconv.Itoa(os.Getpid())
	if err := c.write(map[string]string{"cgroup.procs": self}); err != nil {
		return err
	}
	err := start()
	if !c.v2 { // start ran kubectl in here too: count serve's peak from now on
		_ = c.write(map[string]string{"memory.max_usage_in_bytes": "0"})
	}
	if werr := os.WriteFile(filepath.Join(filepath.Dir(c.dir), "cgroup.procs"), []byte(self), 0o600); werr != nil && err == nil {
		err = fmt.Errorf("leave the cgroup: %w", werr)
	}
	return err
}

// report is the cgroup's peak charge and its OOM kills.
func (c *memoryCgroup) report() string {
	read := func(f string) string {
		b, _ := os.ReadFile(filepath.Join(c.dir, f))
		return strings.TrimSpace(string(b))
	}
	mib := func(s string) string {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "?"
		}
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	kills := "?"
	events := read("memory.events")
	if !c.v2 {
		events = read("memory.oom_control")
	}
	for line := range strings.SplitSeq(events, "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			kills = v
		}
	}
	peak := read("memory.max_usage_in_bytes")
	if c.v2 {
		peak = read("memory.peak")
	}
	return fmt.Sprintf("cgroup peak %s, %s OOM kills", mib(peak), kills)
}

// remove deletes the cgroup once its processes are gone.
func (c *memoryCgroup) remove() { _ = os.Remove(c.dir) }
