package oomguard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// dumpInfo is the JSON sidecar of an emergency heap profile,
// DIR/oom-<unix-nanos>-<level>.json. Its fields are a stable schema.
type dumpInfo struct {
	// Profile is the name of the heap profile in the same directory.
	Profile string `json:"profile"`
	// Time is when the guard fired, RFC 3339 with nanoseconds.
	Time string `json:"time"`
	// Level counts the guard's triggers, from 1.
	Level int `json:"level"`
	// UsageBytes is the usage read when the guard fired.
	UsageBytes uint64 `json:"usage_bytes"`
	// LimitBytes is the limit.
	LimitBytes uint64 `json:"limit_bytes"`
	// LimitSource says where the limit comes from (Limit.Source).
	LimitSource string `json:"limit_source"`
	// UsagePath is the file the usage was read from (Limit.UsagePath).
	UsagePath string `json:"usage_path"`
	// PID is the process that wrote the profile.
	PID int `json:"pid"`
}

func init() { writeDump = writeHeapDump }

// writeHeapDump is the default action: it runs a GC, so that the heap profile
// holds every allocation up to now, and writes the profile and its sidecar.
// The sidecar comes second: when it exists, the profile is complete.
func writeHeapDump(dir string, l Limit, ev Event) error {
	runtime.GC()
	base := fmt.Sprintf("oom-%d-%d", ev.At.UnixNano(), ev.Level)
	profile := base + ".pb.gz"
	err := writeFileAtomic(dir, profile, func(w io.Writer) error {
		return pprof.Lookup("heap").WriteTo(w, 0)
	})
	if err != nil {
		return err
	}
	info := dumpInfo{
		Profile:     profile,
		Time:        ev.At.Format(time.RFC3339Nano),
		Level:       ev.Level,
		UsageBytes:  ev.Usage,
		LimitBytes:  ev.Limit,
		LimitSource: l.Source,
		UsagePath:   l.UsagePath,
		PID:         os.Getpid(),
	}
	return writeFileAtomic(dir, base+".json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	})
}

// writeFileAtomic writes dir/name through a temporary file that is synced and
// renamed, then syncs the directory, so that the name appears only with its
// whole contents and survives a crash right after.
func writeFileAtomic(dir, name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("oomguard: %w", err)
	}
	tmp := f.Name()
	closed, renamed := false, false
	defer func() {
		if err == nil {
			return
		}
		if !closed {
			if cerr := f.Close(); cerr != nil {
				err = fmt.Errorf("%w (closing the temporary file: %v)", err, cerr)
			}
		}
		if !renamed {
			if rerr := os.Remove(tmp); rerr != nil {
				err = fmt.Errorf("%w (removing the temporary file: %v)", err, rerr)
			}
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("oomguard: writing %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("oomguard: writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("oomguard: syncing %s: %w", name, err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("oomguard: closing %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("oomguard: %w", err)
	}
	renamed = true
	return syncDir(dir)
}
