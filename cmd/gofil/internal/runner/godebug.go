package runner

import (
	"os"
	"strings"
	"syscall"
)

// EnvProgramGODEBUG carries the user's GODEBUG across the re-exec of
// ownTraces, for the program alone: "set:" and its value.
const EnvProgramGODEBUG = "GOFIL_PROGRAM_GODEBUG"

// traceSettings are the GODEBUG settings that make the Go runtime print
// as it runs. They are the program's: GODEBUG=gctrace=1 gofil run ... is
// how the runtime's own figures for the program are read beside gofil's.
var traceSettings = []string{"gctrace", "gcpacertrace", "scavtrace", "inittrace", "schedtrace", "scheddetail"}

// OwnTraces keeps the runtime's tracing settings in GODEBUG for the
// program alone. The runtime reads them once, at start-up, so gofil runs
// itself again without them (and the go command it starts inherits that),
// carrying the user's GODEBUG for the program in EnvProgramGODEBUG. Then
// every "gc N" line on stderr is the program's. If the re-exec fails gofil
// goes on as it is.
func OwnTraces() {
	g, ok := os.LookupEnv("GODEBUG")
	if !ok {
		return
	}
	if _, again := os.LookupEnv(EnvProgramGODEBUG); again {
		return
	}
	clean := withoutTraces(g)
	if clean == g {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	if clean != "" {
		env = append(env, "GODEBUG="+clean)
	}
	env = append(env, EnvProgramGODEBUG+"=set:"+g)
	_ = syscall.Exec(exe, os.Args, env) // only returns on failure: go on
}

// withoutTraces is GODEBUG without the settings that print as the runtime
// runs.
func withoutTraces(g string) string {
	var keep []string
	for _, p := range strings.Split(g, ",") {
		name, _, _ := strings.Cut(p, "=")
		traced := false
		for _, t := range traceSettings {
			traced = traced || name == t
		}
		if p != "" && !traced {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// UserGODEBUG is the GODEBUG the user gave, for the program: the one
// carried across OwnTraces's re-exec, else the environment's.
func UserGODEBUG() (string, bool) {
	if v, ok := os.LookupEnv(EnvProgramGODEBUG); ok {
		return strings.CutPrefix(v, "set:")
	}
	return os.LookupEnv("GODEBUG")
}
