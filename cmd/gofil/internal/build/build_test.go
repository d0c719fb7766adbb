package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
