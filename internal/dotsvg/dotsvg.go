// Package dotsvg lays out DOT graphs as SVG in a process of its own: a
// helper program, built with the go command from gofil's own module
// requirements on first use and kept in gofil's private cache. gofil's own
// binary does not link Graphviz, so no command but the one that draws a
// call graph pays for its WebAssembly module or opens its compilation
// cache.
package dotsvg

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
)

//go:embed helper/main.go
var helperSource []byte

const (
	// helperModule is the module path of the helper's own module.
	helperModule = "gofil.run/graphviz"
	// binaryName is the helper's executable in its cache directory.
	binaryName = "gofil-graphviz"
	// dirPrefix begins the name of the helper's cache directory, and,
	// after a dot, of one being built.
	dirPrefix = "graphviz-"
	// maxSVG bounds what is read back from the helper.
	maxSVG = 64 << 20
	// buildTimeout and renderTimeout bound the helper's build and each
	// layout.
	buildTimeout  = 5 * time.Minute
	renderTimeout = time.Minute
)

// Render lays dot out as SVG. The first call on a machine builds the helper
// (a few seconds with the go command's build cache warm).
func Render(ctx context.Context, dot []byte) ([]byte, error) {
	if p := takeEarly(); p != nil {
		if out, err := p.finish(dot); err == nil {
			return out, nil
		}
		// Started too early to work (its binary replaced since, say):
		// the usual way.
	}
	cache, err := privtmp.CacheDir()
	if err != nil {
		return nil, err
	}
	out, err := render(ctx, cache, dot)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && ctx.Err() == nil && !errors.Is(err, errBuild) {
		// The helper would not start (a binary gone bad, say): built
		// again, once.
		os.RemoveAll(helperDir(cache))
		out, err = render(ctx, cache, dot)
	}
	return out, err
}

// errBuild marks an error of the helper's build, which a second try would
// not mend.
var errBuild = errors.New("gofil's Graphviz helper does not build")

func render(ctx context.Context, cache string, dot []byte) ([]byte, error) {
	p, err := start(ctx, cache)
	if err != nil {
		return nil, err
	}
	return p.finish(dot)
}

// proc is a helper process started and waiting for its graph.
type proc struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	out, stderr bytes.Buffer
	cancel      context.CancelFunc
	ctx         context.Context
}

// start starts the helper, which sets Graphviz up as it starts and then
// waits for its graph on its standard input.
func start(ctx context.Context, cache string) (*proc, error) {
	bin, err := helper(ctx, cache)
	if err != nil {
		return nil, err
	}
	// go-graphviz keeps its compilation cache in os.TempDir: a private
	// directory, not the user's TMPDIR, which may be shared.
	// It makes its directory there 0755 if missing: made first, 0700.
	tmp := filepath.Join(cache, "tmp")
	wazeroCache := filepath.Join(tmp, "go-graphviz")
	if err := privtmp.MakePrivate(wazeroCache); err != nil {
		return nil, fmt.Errorf("graphviz cache: %w", err)
	}
	if err := os.Chmod(wazeroCache, 0o700); err != nil {
		return nil, fmt.Errorf("graphviz cache: %w", err)
	}
	p := &proc{}
	p.ctx, p.cancel = context.WithTimeout(ctx, renderTimeout)
	p.cmd = exec.CommandContext(p.ctx, bin)
	p.cmd.Env = append(os.Environ(), "TMPDIR="+tmp) // the last value of a key wins
	p.cmd.Stderr = &capped{w: &p.stderr, n: 4 << 10}
	p.cmd.Stdout = &capped{w: &p.out, n: maxSVG + 1}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		p.cancel()
		return nil, err
	}
	privtmp.KillGroupOnCancel(p.cmd)
	if err := p.cmd.Start(); err != nil {
		p.cancel()
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	return p, nil
}

// finish gives the helper its graph and returns its layout.
func (p *proc) finish(dot []byte) ([]byte, error) {
	defer p.cancel()
	_, werr := p.stdin.Write(dot)
	p.stdin.Close()
	err := p.cmd.Wait()
	if err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		if msg := strings.TrimSpace(p.stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s (%w)", firstLine(msg), err)
		}
		if p.ctx.Err() != nil {
			return nil, fmt.Errorf("graphviz: no layout after %v", renderTimeout)
		}
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	if p.out.Len() > maxSVG {
		return nil, fmt.Errorf("graphviz: its output is over %d bytes", maxSVG)
	}
	return p.out.Bytes(), nil
}

// stop ends a helper that was given no graph.
func (p *proc) stop() {
	p.cancel()
	p.stdin.Close()
	p.cmd.Wait()
}

// early is a helper Prestart started, for the next Render.
var early struct {
	sync.Mutex
	p *proc
}

// Prestart starts the helper now, when a caller knows it will lay out a
// graph soon but has not made it yet: Graphviz's WebAssembly set-up, most
// of the helper's time, then overlaps the caller's own work, and the next
// Render gives the helper its graph. stop ends the helper if no Render
// took it. The helper must be built already: Prestart builds nothing. A
// helper an earlier Prestart started and no Render took yet is kept, and
// this stop does nothing: the earlier caller's ends it.
func Prestart(ctx context.Context) (stop func()) {
	nothing := func() {}
	early.Lock()
	waiting := early.p != nil
	early.Unlock()
	if waiting {
		return nothing
	}
	cache, err := privtmp.CacheDir()
	if err != nil || checkBinary(helperDir(cache), filepath.Join(helperDir(cache), binaryName)) != nil {
		return nothing
	}
	p, err := start(ctx, cache)
	if err != nil {
		return nothing
	}
	early.Lock()
	if early.p != nil {
		early.p.stop()
	}
	early.p = p
	early.Unlock()
	return func() {
		early.Lock()
		defer early.Unlock()
		if early.p == p {
			early.p = nil
			p.stop()
		}
	}
}

// takeEarly is the helper Prestart started, if any, now the caller's.
func takeEarly() *proc {
	early.Lock()
	defer early.Unlock()
	p := early.p
	early.p = nil
	return p
}

// helper returns the helper's executable under cache, building it if it is
// not there. The cache is private (privtmp.CacheDir checked it), so what is
// there was put there by this user's gofil; it is built in a directory of
// its own and renamed into place, so it is never seen half written.
func helper(ctx context.Context, cache string) (string, error) {
	mod, err := helperGoMod()
	if err != nil {
		return "", err
	}
	dir := helperDir(cache)
	bin := filepath.Join(dir, binaryName)
	if err := checkBinary(dir, bin); err == nil {
		return bin, nil
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("drawing a call graph needs the go command once, to build gofil's Graphviz helper: %w", err)
	}
	privtmp.Sweep(cache, "."+dirPrefix)
	work, err := os.MkdirTemp(cache, privtmp.Pattern("."+dirPrefix))
	if err != nil {
		return "", fmt.Errorf("graphviz helper: %w", err)
	}
	defer os.RemoveAll(work)
	for name, data := range map[string][]byte{"go.mod": mod, "go.sum": gofil.GoSum, "main.go": helperSource} {
		if err := os.WriteFile(filepath.Join(work, name), data, 0o600); err != nil {
			return "", fmt.Errorf("graphviz helper: %w", err)
		}
	}
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(bctx, "go", "build", "-trimpath", "-o", binaryName, ".")
	cmd.Dir = work
	cmd.Env = buildEnv()
	var out bytes.Buffer
	cmd.Stdout = &capped{w: &out, n: 64 << 10}
	cmd.Stderr = cmd.Stdout
	privtmp.KillGroupOnCancel(cmd)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%w: %s", errBuild, lastLine(msg))
	}
	if err := os.Chmod(filepath.Join(work, binaryName), 0o700); err != nil {
		return "", fmt.Errorf("graphviz helper: %w", err)
	}
	if err := os.Rename(work, dir); err != nil {
		if checkBinary(dir, bin) == nil {
			return bin, nil // another gofil built it first
		}
		os.RemoveAll(dir)
		if err := os.Rename(work, dir); err != nil {
			return "", fmt.Errorf("graphviz helper: %w", err)
		}
	}
	sweepOld(cache, dir)
	return bin, checkBinary(dir, bin)
}

// helperDir is the helper's directory under cache, named by a hash of
// its source, go.mod and go.sum and of the platform it runs on.
func helperDir(cache string) string {
	mod, _ := helperGoMod()
	h := sha256.New()
	for _, b := range [][]byte{helperSource, mod, gofil.GoSum, []byte(runtime.GOOS + "/" + runtime.GOARCH)} {
		fmt.Fprintf(h, "%d\n", len(b))
		h.Write(b)
	}
	return filepath.Join(cache, dirPrefix+hex.EncodeToString(h.Sum(nil))[:16])
}

// buildEnv is the environment the helper is built in: the user's, for the
// go command's caches, proxy and toolchain, but for the target platform,
// which is this one, with its defaults, a module mode of its own (the
// user's GOFLAGS, such as -mod=vendor, are for the user's modules) and no
// workspace. The settings it adds come last, and the last value of a key
// is the one a command gets.
func buildEnv() []string {
	out := make([]string, 0, len(os.Environ())+5)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM", "GOEXPERIMENT":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
}

// sweepOld removes the helpers of other gofil versions from cache.
func sweepOld(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(cache, e.Name())
		if !strings.HasPrefix(e.Name(), dirPrefix) || p == keep || !e.IsDir() || privtmp.Check(p) != nil {
			continue
		}
		os.RemoveAll(p)
	}
}

// helperGoMod is goMod, made once.
var helperGoMod = sync.OnceValues(goMod)

// goMod is the helper module's go.mod: gofil's own requirements under
// another module path.
func goMod() ([]byte, error) {
	f, err := modfile.Parse("go.mod", gofil.GoMod, nil)
	if err != nil {
		return nil, fmt.Errorf("gofil's go.mod: %w", err)
	}
	if err := f.AddModuleStmt(helperModule); err != nil {
		return nil, fmt.Errorf("gofil's go.mod: %w", err)
	}
	for _, t := range f.Tool {
		f.DropTool(t.Path)
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}

// checkBinary reports an error unless dir is private and bin is a regular
// file in it, owned by the user, that no one else can write.
func checkBinary(dir, bin string) error {
	if err := privtmp.Check(dir); err != nil {
		return err
	}
	st, err := os.Lstat(bin)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is not a private executable", bin)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s is not the user's", bin)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastLine(s string) string {
	return s[strings.LastIndex(s, "\n")+1:]
}

// capped writes at most n bytes to w and drops the rest, so that a helper
// gone wrong cannot fill gofil's memory.
type capped struct {
	w io.Writer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	k := len(p)
	if k > c.n {
		p = p[:c.n]
	}
	c.n -= len(p)
	if len(p) > 0 {
		if _, err := c.w.Write(p); err != nil {
			return 0, err
		}
	}
	return k, nil
}
