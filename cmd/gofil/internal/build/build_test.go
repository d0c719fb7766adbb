package build

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildIt builds t and returns the binary.
func buildIt(t *testing.T, target Target, flags ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prog")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := Build(ctx, target, Options{Output: bin, CacheDir: t.TempDir(), Flags: flags})
	return bin, err
}

func mustBuild(t *testing.T, target Target, flags ...string) string {
	t.Helper()
	bin, err := buildIt(t, target, flags...)
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			t.Fatalf("%v\n%s", err, be.Output)
		}
		t.Fatal(err)
	}
	return bin
}

// run runs bin with args and returns its stdout and stderr.
func run(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// linksAgent reports whether the binary links the tracker.
func linksAgent(t *testing.T, bin string) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(info.Deps, func(m *debug.Module) bool { return m.Path == gofil.AgentModule })
}

// TestOldGoLines: a main module whose go line is older than the agent's
// language (generics came in 1.18) builds, its own files compiled at its
// own language version.
func TestOldGoLines(t *testing.T) {
	for _, v := range []string{"1.13", "1.16", "1.17"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				"go.mod":  "module example.com/old\n\ngo " + v + "\n",
				"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar fs []func() int\n\tfor i := 0; i < 3; i++ {\n\t\tfs = append(fs, func() int { return i })\n\t}\n\tfmt.Println(fs[0](), fs[1](), fs[2]())\n}\n",
			})
			bin := mustBuild(t, Target{Package: ".", Dir: dir})
			if stdout, stderr, err := run(t, bin); err != nil || stdout != "3 3 3\n" {
				t.Errorf("got %q, %v, want \"3 3 3\"\n%s", stdout, err, stderr)
			}
		})
	}
}

// TestAgentLanguage: the agent, as gofil writes it, is a module at go
// 1.19 that compiles at that language version.
func TestAgentLanguage(t *testing.T) {
	dir, err := writeAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "\ngo 1.19\n") {
		t.Fatalf("the agent's go.mod says\n%s\nwant go 1.19", mod)
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the agent does not compile at go 1.19: %v\n%s", err, out)
	}
}

// TestTagsReachList: with -tags, the tracker goes into the file of func
// main that the build takes, not into one the tags exclude.
func TestTagsReachList(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":      "module example.com/tags\n\ngo 1.22\n",
		"main_dev.go": "//go:build !prod\n\npackage main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"dev\") }\n",
		"main_prd.go": "//go:build prod\n\npackage main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"prod\") }\n",
	})
	for _, flags := range [][]string{{"-tags=prod"}, {"-tags", "prod"}} {
		bin := mustBuild(t, Target{Package: ".", Dir: dir}, flags...)
		if stdout, _, _ := run(t, bin); stdout != "prod\n" {
			t.Errorf("%v: the program printed %q, want prod", flags, stdout)
		}
		if !linksAgent(t, bin) {
			t.Errorf("%v: the binary does not link the tracker", flags)
		}
	}
}

// TestKeepsUserLdflags: the user's -ldflags, in GOFLAGS or on the command
// line, reach the linker beside gofil's own.
func TestKeepsUserLdflags(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/ver\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"none\"\n\nfunc main() { fmt.Println(version) }\n",
	})
	cases := []struct {
		goflags string
		flags   []string
		want    string
	}{
		{"-ldflags=-X=main.version=1.2.3", nil, "1.2.3"},
		{"'-ldflags=-X main.version=1.2.4 -s'", nil, "1.2.4"},
		{"-ldflags=-X=main.version=1.2.3", []string{"-ldflags=-X=main.version=4.5.6"}, "4.5.6"},
		{"", []string{"-ldflags", "all=-X=main.version=7.8.9"}, "7.8.9"},
	}
	for _, c := range cases {
		t.Setenv("GOFLAGS", c.goflags)
		bin := mustBuild(t, Target{Package: ".", Dir: dir}, c.flags...)
		if stdout, _, _ := run(t, bin); stdout != c.want+"\n" {
			t.Errorf("GOFLAGS=%s %v: the program printed %q, want %s", c.goflags, c.flags, stdout, c.want)
		}
	}
}

// TestSyntaxError: a syntax error in main's file is reported as the
// compiler reports it.
func TestSyntaxError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/bad\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {\n\tx :=\n}\n",
	})
	_, err := buildIt(t, Target{Package: ".", Dir: dir})
	var be *Error
	if !errors.As(err, &be) || !strings.Contains(be.Output, "main.go:5:1: syntax error") {
		t.Fatalf("got %v, want the compiler's syntax error", err)
	}
}

func TestGoVersionLine(t *testing.T) {
	for in, want := range map[string]string{
		"go1.26.8": "1.26.8", "go1.27rc1": "1.27rc1", "go1.26.8 X:jsonv2": "1.26.8",
		"devel go1.27-1f2e3d4 Mon Jan 1": "1.27", "": "1.21",
	} {
		if got := goVersionLine(in); got != want {
			t.Errorf("goVersionLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitGOFLAGS(t *testing.T) {
	got, err := splitGOFLAGS(" -mod=mod\t'-ldflags=-X a=b -s' \"-tags=x y\"  -trimpath ")
	want := []string{"-mod=mod", "-ldflags=-X a=b -s", "-tags=x y", "-trimpath"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v, want %q", got, err, want)
	}
	if _, err := splitGOFLAGS("'-ldflags=-s"); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}

func TestBuildFlags(t *testing.T) {
	cases := []struct {
		goflags, flags, want []string
	}{
		{nil, nil, []string{"-ldflags=-checklinkname=0"}},
		{nil, []string{"-race", "-tags=x"}, []string{"-race", "-tags=x", "-ldflags=-checklinkname=0"}},
		{[]string{"-ldflags=-X=main.v=1"}, nil,
			[]string{"-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0 -X=main.v=1"}},
		{[]string{"-mod=mod", "--ldflags=-s"}, []string{"-ldflags", "-w", "-race"},
			[]string{"-race", "-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0 -s", "-ldflags=-checklinkname=0 -w"}},
		{nil, []string{"-ldflags=all=-s -w"}, []string{"-ldflags=-checklinkname=0", "-ldflags=all=-checklinkname=0 -s -w"}},
		{nil, []string{"-ldflags="}, []string{"-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0"}},
	}
	for _, c := range cases {
		if got := buildFlags(c.goflags, c.flags); !slices.Equal(got, c.want) {
			t.Errorf("buildFlags(%q, %q) = %q, want %q", c.goflags, c.flags, got, c.want)
		}
	}
}
