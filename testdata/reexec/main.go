// Command reexec replaces itself by exec, as a program re-executing its
// own binary after a change of configuration does. Its first image holds
// 48 MiB in main.first over a few GC cycles, then runs itself again with
// the argument "again"; the second image holds 16 MiB in main.second and
// exits with code 7. The first argument says how:
//
//   - late: the first image execs after its GC cycles.
//   - early: the first image execs at once, before any GC.
//   - keepenv: as late, but the second image gets the environment the
//     first was started with (/proc/self/environ), gofil's variables
//     included.
//
// A second argument names a directory in which the first image leaves a
// temporary file as a write of the tracker's cut short by the exec would
// (.history.json.NNN).
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

var held [][]byte

func hold(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
		if i%8 == 7 {
			runtime.GC()
		}
	}
}

func first() { hold(48) }

func second() { hold(16) }

func main() {
	if len(os.Args) > 1 && os.Args[len(os.Args)-1] == "again" {
		var gofil []string
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "GOFIL_") {
				gofil = append(gofil, kv)
			}
		}
		second()
		fmt.Printf("second image, gofil's variables %q\n", gofil)
		os.Exit(7)
	}
	mode := "late"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if mode != "early" {
		first()
		time.Sleep(300 * time.Millisecond)
	}
	if len(os.Args) > 2 {
		os.WriteFile(os.Args[2]+"/.history.json.12345", []byte("{\"version\":"), 0o600)
	}
	env := os.Environ()
	if mode == "keepenv" {
		data, err := os.ReadFile("/proc/self/environ")
		if err != nil {
			fmt.Fprintln(os.Stderr, "reexec:", err)
			os.Exit(1)
		}
		env = strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reexec:", err)
		os.Exit(1)
	}
	fmt.Println("first image, exec")
	err = syscall.Exec(exe, append(os.Args, "again"), env)
	fmt.Fprintln(os.Stderr, "reexec:", err)
	os.Exit(1)
}
