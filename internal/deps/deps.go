package deps

import (
	_ "github.com/goccy/go-graphviz"
	_ "github.com/google/pprof/profile"
	_ "github.com/shirou/gopsutil/v4/process"
)
