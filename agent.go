// Package gofil holds the source of gofil's in-process agent, which `gofil
// run` compiles into the profiled program. The command itself is in
// cmd/gofil; see the README.
package gofil

import (
	"embed"

	"github.com/gofil/gofil/internal/raw"
)

// AgentSource is the source of the packages compiled into the profiled
// program: the tracker and what it imports. They use only the standard
// library, so they form a module with no requirements.
//
// oomguard/dump.go, the standalone guard's runtime/pprof writer, is left
// out: the tracker writes its own dumps, and runtime/pprof would bring
// package initialisations that allocate into every profiled program.
//
//go:embed internal/raw/*.go internal/procfs/*.go internal/ownfd/*.go peak/*.go tracker/*.go
//go:embed oomguard/doc.go oomguard/guard.go oomguard/limit.go oomguard/usage.go oomguard/sys_unix.go oomguard/sys_other.go
var AgentSource embed.FS

// AgentModule is the module path of the agent's packages.
const AgentModule = raw.AgentModule

// AgentPackages are the packages compiled into the profiled program, as
// AgentSource holds them: memory they allocate is the tracker's.
var AgentPackages = raw.AgentPackages

// AgentPackage is the package the injected main imports.
const AgentPackage = AgentModule + "/tracker"

// AgentName is the name the program's main file imports the tracker as.
const AgentName = "gofiltracker"

// The names an earlier `gofil run` gave what it added to the program, which
// the report hides in the data it wrote: the program's own main function,
// renamed on its own line, and the added file whose main called it through
// the agent's RunMain.
const (
	UserMain     = "gofil_userMain"
	InjectedFile = "zz_gofil_agent.go"
	RunMain      = AgentPackage + ".RunMain"
)
