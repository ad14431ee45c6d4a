package server

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the container's memory limit the Go heap is held to: the rest
// is for what the runtime does not count (stacks, binary, page tables) and for headroom.
const memoryLimitShare = 0.9

// setMemoryLimit holds the Go runtime to memoryLimitShare of the container's memory limit
// (cgroup v2 memory.max, else v1 memory.limit_in_bytes, under root), so that the garbage collector
// works harder near the limit instead of letting a burst of garbage (an audit pass over a cluster
// where every ServiceAccount broke at once) reach the OOM killer: Go does not read the cgroup
// limit itself (https://go.dev/doc/gc-guide#Memory_limit). An explicit GOMEMLIMIT wins. It
// returns the limit set, 0 when none.
func setMemoryLimit(root string) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := cgroupMemoryLimit(root)
	if limit <= 0 {
		return 0
	}
	set := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(set)
	return set
}

// cgroupMemoryLimit reads the container's memory limit in bytes; 0 when there is none ("max", or
// v1's huge unlimited value) or it cannot be read.
func cgroupMemoryLimit(root string) int64 {
	for _, f := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or cgroup v1's "no limit" (page-rounded MaxInt64)
			return 0
		}
		return n
	}
	return 0
}
