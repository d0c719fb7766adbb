// Package oomguard watches the memory limit of the current process and acts
// before the kernel's out-of-memory killer does.
//
// It runs inside the profiled program, so it imports only the standard library
// and builds with Go 1.19 and later.
//
// # The limit
//
// [DetectLimit] finds the limit that will actually kill this process: the
// smallest cgroup v2 memory.max on the path from the process's cgroup up to
// the cgroup2 mount, the cgroup v1 memory.limit_in_bytes and
// hierarchical_memory_limit of its memory cgroup, and, when no cgroup limit
// applies, the host's available memory. [Limit.Usage] reads the usage counted
// against that limit; it is cheap enough to poll every few milliseconds.
//
// Cgroup usage includes the page cache, which the kernel reclaims before it
// kills anything. A program that writes a lot of files can sit near its limit
// without being in danger; the guard's bounded number of levels keeps that
// case to a few dumps.
//
// # Inside gofil
//
// The tracker starts a guard with its own action, which runs synchronously on
// the guard's goroutine:
//
//	g, err := oomguard.Start(oomguard.WithOnTrigger(func(ev oomguard.Event) {
//		// write what is known at once (the last GC cycle accounted and
//		// the exact figures now), fsync; then account the heap now, which
//		// starts GC cycles, and write it again.
//	}))
//	if err != nil {
//		return err
//	}
//	defer g.Stop()
//
// # Standalone
//
// Any program can keep emergency heap profiles with one Start call that names
// a directory:
//
//	func main() {
//		g, err := oomguard.Start(oomguard.WithDir("/var/tmp/myjob-oom"))
//		if err != nil {
//			log.Printf("no OOM guard: %v", err)
//		} else {
//			defer g.Stop()
//		}
//		// ...
//	}
//
// When usage crosses 90% of the limit, and again at each higher level, the
// guard runs runtime.GC and writes the heap profile to
// DIR/oom-<unix-nanos>-<level>.pb.gz (open it with go tool pprof), followed by
// DIR/oom-<unix-nanos>-<level>.json describing the event. Both files are
// written to a temporary name, synced and renamed, so a file that exists is
// complete even if the kernel kills the process right after; a write the
// kernel interrupts leaves a hidden .oom-*.tmp* file behind. The files are
// readable by their owner only: a heap profile shows the program's code.
package oomguard
