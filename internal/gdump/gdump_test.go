package gdump

import "testing"

func TestBlockedForever(t *testing.T) {
	agent := "goroutine 7 [select]:\ngithub.com/gofil/gofil/oomguard.(*Guard).run(0x1)\n\t/x/guard.go:266 +0x1\ncreated by github.com/gofil/gofil/oomguard.Start in goroutine 1\n\t/x/guard.go:220 +0x1\n\n" +
		"goroutine 6 [running]:\ngithub.com/gofil/gofil/tracker.(*tracker).loop(0x1)\n\t/x/tracker.go:340 +0x1\n"
	for name, c := range map[string]struct {
		dump string
		want bool
	}{
		"main on a channel":     {"goroutine 1 [chan receive]:\nmain.main()\n\t/p/main.go:9 +0x1\n\n" + agent, true},
		"for minutes":           {"goroutine 1 [chan receive, 5 minutes]:\nmain.main()\n\t/p/main.go:9 +0x1\n\n" + agent, true},
		"wait group and select": {"goroutine 1 [sync.WaitGroup.Wait]:\nsync.(*WaitGroup).Wait(0x1)\n\ngoroutine 9 [select (no cases)]:\nmain.f()\n\n" + agent, true},
		"main called Goexit":    {agent, true},
		"a sleep":               {"goroutine 1 [sleep]:\ntime.Sleep(0x1)\n\n" + agent, false},
		"a network wait":        {"goroutine 1 [chan receive]:\nmain.main()\n\ngoroutine 8 [IO wait]:\ninternal/poll.runtime_pollWait(0x1)\n\n" + agent, false},
		"a system call":         {"goroutine 1 [syscall]:\nsyscall.Syscall(0x1)\n\n" + agent, false},
		"runnable":              {"goroutine 1 [runnable]:\nmain.main()\n\n" + agent, false},
		"unreadable":            {"goroutine 1 chan receive:\nmain.main()\n", false},
	} {
		if got := BlockedForever([]byte(c.dump)); got != c.want {
			t.Errorf("%s: BlockedForever = %v, want %v", name, got, c.want)
		}
	}
}
