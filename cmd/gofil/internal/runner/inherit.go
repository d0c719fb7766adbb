package runner

import (
	"context"
	"os"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// Inherited are the descriptors above stderr that gofil was started with,
// which the program is given at the same numbers, as it would have them
// without gofil: socket activation's listening sockets (LISTEN_FDS), a
// shell's 3<file. Files[i] is descriptor 3+i, nil where gofil had none.
type Inherited struct {
	Files []*os.File
}

// Inherit takes the descriptors gofil was started with, other than 0–2.
// It is called first thing in main, before gofil opens anything: they are
// the descriptors open then without close-on-exec, since every descriptor
// Go opens, the runtime's own included, is close-on-exec. They are made
// close-on-exec in gofil, so that the go command and gofil's other helpers
// do not get them; the runner passes them to the program.
//
//	ctx := runner.WithInherited(context.Background(), runner.Inherit())
func Inherit() Inherited {
	var fds []int
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			fd, err := strconv.Atoi(e.Name())
			if err != nil || fd <= 2 {
				continue
			}
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC != 0 {
				continue // the directory being read, or the runtime's
			}
			fds = append(fds, fd)
		}
		break
	}
	sort.Ints(fds)
	var in Inherited
	for _, fd := range fds {
		for len(in.Files) < fd-3 {
			in.Files = append(in.Files, nil)
		}
		unix.CloseOnExec(fd)
		// os.NewFile leaves the descriptor's flags as they are:
		// O_NONBLOCK is the open file's, shared with the program.
		in.Files = append(in.Files, os.NewFile(uintptr(fd), "inherited fd "+strconv.Itoa(fd)))
	}
	return in
}

type inheritedKey struct{}

// WithInherited returns ctx carrying in, for Run.
func WithInherited(ctx context.Context, in Inherited) context.Context {
	return context.WithValue(ctx, inheritedKey{}, in)
}

// InheritedFrom returns what WithInherited put in ctx; none if nothing.
func InheritedFrom(ctx context.Context) Inherited {
	in, _ := ctx.Value(inheritedKey{}).(Inherited)
	return in
}
