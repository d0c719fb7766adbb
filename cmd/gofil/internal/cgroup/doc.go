// Package cgroup creates a memory-limited cgroup for a child process, for
// gofil run --memory-limit. It runs in the gofil command, never in the
// profiled program.
//
//	g, err := cgroup.New(runID, 300<<20)
//	if err != nil {
//		return err // says why, and what would make it work
//	}
//	defer g.Remove()
//	if err := cmd.Start(); err != nil {
//		return err
//	}
//	if err := g.AddPID(cmd.Process.Pid); err != nil {
//		return err
//	}
//	err = cmd.Wait()
//	if n, _ := g.OOMKills(); n > 0 {
//		// killed by the out-of-memory killer
//	}
//
// The group is created below the cgroup of the calling process, which itself
// never joins it. With cgroup v2 (the unified hierarchy at /sys/fs/cgroup or
// /sys/fs/cgroup/unified, when it has the memory controller) the limit is
// memory.max and swap is disabled with memory.swap.max; otherwise the cgroup
// v1 memory hierarchy is used, with memory.limit_in_bytes and
// memory.memsw.limit_in_bytes.
package cgroup
