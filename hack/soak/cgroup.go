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
		return c, c.setLimit("memory.limit_in_bytes", limit)
	}
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
			continue
		}
		c := &memoryCgroup{dir: filepath.Join(root, name), v2: true}
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("SCALE_MEMORY_LIMIT needs a memory cgroup (run as root): %w", err)
		}
		return c, c.setLimit("memory.max", limit)
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

// setLimit writes the limit, and removes the cgroup if it cannot.
func (c *memoryCgroup) setLimit(file, limit string) error {
	if err := c.write(map[string]string{file: limit}); err != nil {
		c.remove()
		return err
	}
	return nil
}

// wrap writes a script that moves itself into the cgroup and then becomes bin, so that serve is
// the only process in it from its first instruction: every page it touches is charged there, and
// nothing else's (a process moved in later would leave its charges behind; cgroup v1 cannot fork
// into a cgroup).
func (c *memoryCgroup) wrap(dir, bin string) (string, error) {
	path := filepath.Join(dir, "irsa-guard-in-cgroup")
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %q || exit 1\nexec %q \"$@\"\n", filepath.Join(c.dir, "cgroup.procs"), bin)
	return path, os.WriteFile(path, []byte(script), 0o700) //nolint:gosec // an executable script in the run's own directory
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
