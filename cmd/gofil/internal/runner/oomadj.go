package runner

import (
	"os"
	"strconv"
	"strings"
)

// oomScoreAdjMin is the kernel's OOM_SCORE_ADJ_MIN: a process with it is
// never chosen by the out-of-memory killer.
const oomScoreAdjMin = -1000

// shieldFromOOMKiller makes gofil a process the out-of-memory killer never
// chooses while its child runs, and returns the function that puts gofil's
// own setting back.
//
// gofil and its child share a memory cgroup when gofil runs in a container.
// When the kernel kills the child, the child leaves the cgroup's task list
// before its memory is freed: an allocation of gofil's in those few
// milliseconds finds the cgroup still full and no other task to kill, and
// gofil dies with the report unwritten. Shielded, gofil's allocation waits
// or fails instead, and the child's memory is freed a moment later.
//
// It is called after the child has started, so the child keeps the setting
// it inherited. Lowering the setting takes CAP_SYS_RESOURCE; without it
// nothing changes.
func shieldFromOOMKiller() (restore func()) {
	const file = "/proc/self/oom_score_adj"
	old, err := os.ReadFile(file)
	if err != nil {
		return func() {}
	}
	was := strings.TrimSpace(string(old))
	if _, err := strconv.Atoi(was); err != nil {
		return func() {}
	}
	if err := os.WriteFile(file, []byte(strconv.Itoa(oomScoreAdjMin)), 0); err != nil {
		return func() {}
	}
	return func() { os.WriteFile(file, []byte(was), 0) }
}
