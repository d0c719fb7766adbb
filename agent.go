// Package gofil holds the source of gofil's in-process agent, which `gofil
// run` compiles into the profiled program. The command itself is in
// cmd/gofil; see the README.
package gofil

import (
	"embed"
	"strings"

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
//go:embed internal/raw/*.go internal/privdir/*.go internal/procfs/*.go internal/ownfd/*.go internal/memsource/*.go internal/rundirs/*.go internal/tell/*.go internal/gdump/*.go peak/*.go tracker/*.go
//go:embed oomguard/doc.go oomguard/guard.go oomguard/limit.go oomguard/usage.go oomguard/sys_unix.go oomguard/sys_other.go
var AgentSource embed.FS

// AgentModule is the module path the agent's packages have in the
// profiled program. It is not gofil's own module path, SourceModule, under
// which AgentSource names them: a program may import gofil's packages
// itself (oomguard for its own emergency dumps, flamegraph), at a version
// of its own, or be in gofil's module, and a build holds one version of a
// module. Under a path of its own the agent is a second copy beside the
// program's, and each side gets the package it was written against. The
// build rewrites the agent's import paths (and raw.AgentModule) from
// SourceModule to AgentModule.
const AgentModule = "gofil.run/agent"

// SourceModule is the module path of the agent's packages in AgentSource:
// gofil's own.
const SourceModule = raw.AgentModule

// AgentPackages are the packages compiled into the profiled program, by
// their paths there: memory they allocate is the tracker's.
var AgentPackages = agentPackages()

func agentPackages() []string {
	out := make([]string, len(raw.AgentPackages))
	for i, p := range raw.AgentPackages {
		out[i] = AgentModule + strings.TrimPrefix(p, SourceModule)
	}
	return out
}

// AgentPackage is the package the injected main imports.
const AgentPackage = AgentModule + "/tracker"

// AgentName is the name the program's main file imports the tracker as.
const AgentName = "gofiltracker"

// The names an earlier `gofil run` gave what it added to the program, which
// the report hides in the data it wrote: the program's own main function,
// renamed on its own line, and the added file whose main called it through
// the agent's RunMain, then compiled under gofil's own module path.
const (
	UserMain     = "gofil_userMain"
	InjectedFile = "zz_gofil_agent.go"
	RunMain      = SourceModule + "/tracker.RunMain"
)
