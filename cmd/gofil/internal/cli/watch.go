package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
)

const watchUsage = `Usage: gofil watch [flags] URL

Fetches heap profiles from a running server that serves net/http/pprof
(GET URL/debug/pprof/heap?gc=1) every --interval for --duration, or until
Ctrl-C, and reports leak suspects: allocation sites whose in-use memory grew
steadily. A live line on stderr shows the snapshots taken, the current heap
and the top suspect so far. URL is http://HOST:PORT, with or without
/debug/pprof/heap.

Flags:
  --interval D   time between snapshots (default 2s)
  --duration D   how long to watch (default 1m); 0 watches until Ctrl-C
  --pid PID      also record this process's resident memory (RSS)
  -o DIR         report directory (default: gofil-result/<time>-watch)

The report directory holds:
  leaks.json           suspects and churning sites, the verdict and the
                       server's sampling rate (schema 1)
  growth.pb.gz         pprof profile of the in-use growth from the first
                       snapshot to the last (go tool pprof -http=: growth.pb.gz)
  leaks.html           growth flamegraph, in-use over time per suspect
  snapshots/NNNN.pb.gz the heap profiles as fetched

Each snapshot makes the server run a garbage collection (that is what gc=1
asks for), so a short --interval on a large heap costs the server CPU.

The first snapshot says how often the server samples allocations
(runtime.MemProfileRate, 512 KiB by default) and the growth that can be
told from sampling noise at that rate. A suspect needs at least 5
snapshots: a shorter watch says it is too short to judge, and still
writes the report.

Ctrl-C ends the watch and writes the report. If the server cannot be
reached, is not pprof, or stops answering, gofil keeps what it gathered and
exits with code 1; bad flags exit with code 2.
`

// Files written into a watch's report directory.
const (
	leaksJSON     = "leaks.json"
	growthProfile = "growth.pb.gz"
	leaksHTML     = "leaks.html"
	snapshotsDir  = "snapshots"
	heapPath      = "/debug/pprof/heap"
	// maxAnswerBytes bounds one answer: a heap profile, gzipped, is a few
	// MiB even for a large server.
	maxAnswerBytes = 64 << 20
	// fetchTimeout bounds one snapshot: a GC of a large heap and the
	// profile's transfer.
	fetchTimeout = time.Minute
)

type watchFlags struct {
	url      string
	interval time.Duration
	duration time.Duration
	pid      int
	out      string
}

func parseWatchFlags(args []string) (watchFlags, error) {
	f := watchFlags{interval: 2 * time.Second, duration: time.Minute}
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&f.interval, "interval", f.interval, "")
	fs.DurationVar(&f.duration, "duration", f.duration, "")
	fs.IntVar(&f.pid, "pid", 0, "")
	fs.StringVar(&f.out, "o", "", "")
	// The URL may come before the flags, as in "gofil watch URL --interval 1s".
	pos, err := cmdline.Interleaved(fs, args)
	if err != nil {
		// The error quotes a flag's value, which may be the URL.
		msg := err.Error()
		for _, a := range args {
			msg = strings.ReplaceAll(msg, a, redactURL(a))
		}
		return f, errors.New(msg)
	}
	switch {
	case len(pos) == 0:
		return f, errors.New("no URL: give the server's address, e.g. http://127.0.0.1:6060")
	case len(pos) > 1:
		shown := make([]string, len(pos))
		for i, p := range pos {
			shown[i] = redactURL(p)
		}
		return f, fmt.Errorf("one URL only, got %q", shown)
	case f.interval <= 0:
		return f, errors.New("--interval must be positive")
	case f.duration < 0:
		return f, errors.New("--duration must not be negative")
	case f.duration > 0 && f.duration < f.interval:
		return f, fmt.Errorf("--duration %v is shorter than --interval %v: there would be one snapshot", f.duration, f.interval)
	case f.pid < 0:
		return f, errors.New("--pid must be a process id")
	}
	u, err := heapURL(pos[0])
	if err != nil {
		return f, err
	}
	f.url = u
	return f, nil
}

// heapURL turns what the user typed into the heap profile endpoint with
// gc=1: "127.0.0.1:6060", "http://host:6060", "http://host:6060/debug/pprof/"
// and "http://host:6060/debug/pprof/heap" all name the same one; any other
// path is taken as the prefix pprof is served under.
func heapURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	// Every message names the URL without its password, and a URL that
	// does not parse is not quoted by url.Parse's error, which holds it
	// whole, or part of the password when that is where it failed.
	shown := redactURL(s)
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if _, err := url.Parse(shown); errors.As(err, &ue) {
			return "", fmt.Errorf("URL %q: %w", shown, ue.Err)
		}
		return "", fmt.Errorf("URL %q: its user name or password does not parse (a %% in them is written %%25)", shown)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %q: want http or https", shown)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %q has no host", shown)
	}
	p := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(p, heapPath):
	case strings.HasSuffix(p, "/debug/pprof"):
		p += "/heap"
	default:
		p += heapPath
	}
	u.Path, u.RawPath = p, ""
	// Only the binary profile with a GC first: debug=1 would ask for the
	// text format, whose stacks are addresses.
	u.RawQuery = "gc=1"
	u.Fragment = ""
	return u.String(), nil
}

func watchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseWatchFlags(args)
	if err != nil {
		return fail(exitBadInput, "%v (see 'gofil help watch')", err)
	}
	out := f.out
	if out == "" {
		out = defaultOutDir("watch", time.Now())
	}
	discard, err := makeOutDir(out)
	if err != nil {
		return fail(exitBadInput, "-o %s: %v", out, err)
	}
	w := &watcher{
		url:    f.url,
		out:    out,
		client: &http.Client{Timeout: fetchTimeout},
		series: leak.NewSeries(),
		live:   newLiveLine(stderr),
	}
	if f.pid != 0 {
		p, err := process.NewProcess(int32(f.pid))
		if err == nil {
			_, err = p.MemoryInfo()
		}
		if err != nil {
			return fail(exitBadInput, "--pid %d: %v", f.pid, err)
		}
		w.proc = p
	}

	// Ctrl-C ends the watch, not gofil: the report is still written. A
	// second Ctrl-C, once the watch has stopped, kills as usual.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ended, watchErr := w.run(ctx, f.interval, f.duration)
	if watchErr != nil {
		// No message it keeps or prints holds the URL's password, whatever
		// the error it came from quoted.
		watchErr = errors.New(scrubSecret(watchErr.Error(), f.url))
	}
	stop()
	w.live.done()

	n := w.series.Taken()
	if n == 0 {
		discard()
		return fail(exitFailed, "%s", describe(watchErr, n, ""))
	}
	res := w.series.Analyze()
	s := res.Summary(redactURL(f.url))
	s.Ended = ended
	if s.Verdict == leak.VerdictTooShort {
		s.Note = tooShortNote(s.Snapshots, s.MinSnapshots, f.interval)
	}
	if watchErr != nil {
		s.Error = watchErr.Error()
	}
	for _, p := range w.rss {
		at := p.at.Sub(res.Times[0]).Round(time.Millisecond).Seconds()
		s.RSS = append(s.RSS, leak.RSSPoint{AtSeconds: at, RSSBytes: p.rss})
	}
	if err := writeWatchReport(out, s, res); err != nil {
		return fail(exitReport, "writing the report: %v; the snapshots are in %s", err, filepath.Join(out, snapshotsDir))
	}
	watchText(stderr, s)
	if !w.rssGone.IsZero() {
		fmt.Fprintf(stderr, "gofil watch: --pid %d ended %.1fs into the watch: its RSS is recorded up to then\n", f.pid, w.rssGone.Sub(res.Times[0]).Seconds())
	}
	if watchErr != nil {
		return fail(exitFailed, "%s", describe(watchErr, n, out))
	}
	fmt.Fprintf(stderr, "gofil watch: report: %s\n", out)
	return nil
}

// describe is the one line that says why a watch failed, err (nil: it was
// interrupted before the first snapshot), and what it kept in dir.
func describe(err error, snapshots int, dir string) string {
	if err == nil {
		return "interrupted before the first snapshot"
	}
	msg := err.Error()
	switch {
	case snapshots == 1:
		msg += "; kept the one snapshot and the report in " + dir
	case snapshots > 1:
		msg += fmt.Sprintf("; kept the %d snapshots and the report in %s", snapshots, dir)
	}
	return msg
}

// tooShortNote says why a watch of snapshots is too short to judge and how
// long to watch at interval: leaks.json's note, and stderr's line.
func tooShortNote(snapshots, minSnapshots int, interval time.Duration) string {
	return fmt.Sprintf("%s, and a suspect needs at least %d; watch with --duration %v or more at --interval %v (longer for a slow leak)",
		snapshotCount(snapshots), minSnapshots, time.Duration(minSnapshots-1)*interval, interval)
}

// snapshotCount is "1 snapshot" or "N snapshots".
func snapshotCount(n int) string {
	if n == 1 {
		return "1 snapshot"
	}
	return fmt.Sprintf("%d snapshots", n)
}

// scrubSecret replaces the password of rawURL, as typed and as escaped,
// wherever it appears in msg.
func scrubSecret(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return msg
	}
	msg = strings.ReplaceAll(msg, rawURL, u.Redacted())
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
		if esc := url.UserPassword("", p).String(); len(esc) > 1 {
			msg = strings.ReplaceAll(msg, esc[1:], "xxxxx")
		}
	}
	return msg
}

// redactURL hides the password of s, a URL as typed (with or without its
// scheme) or as gofil made it, which no message or report file shows: as
// url.URL.Redacted does when s parses; when it does not, everything from
// the scheme to the last @ (the most the user name and password can be)
// is hidden.
func redactURL(s string) string {
	prefix := ""
	if !strings.Contains(s, "://") {
		prefix = "http://" // as heapURL reads it
	}
	if u, err := url.Parse(prefix + s); err == nil {
		return strings.TrimPrefix(u.Redacted(), prefix)
	}
	authority := s
	if _, rest, ok := strings.Cut(s, "://"); ok {
		authority = rest
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	return s[:len(s)-len(authority)] + "xxxxx" + authority[at:]
}

// watcher takes the snapshots of one watch.
type watcher struct {
	url    string
	out    string
	client *http.Client
	proc   *process.Process // nil without --pid
	series *leak.Series
	rss    []rssReading
	// rssGone is when the --pid process was found gone; RSS is recorded
	// up to then.
	rssGone time.Time
	live    *liveLine
}

type rssReading struct {
	at  time.Time
	rss uint64
}

// run takes snapshots until duration has passed (0: until ctx ends), ctx
// ends or a fetch fails. It returns why it stopped ("duration",
// "interrupted" or "error") and the error, if any.
func (w *watcher) run(ctx context.Context, interval, duration time.Duration) (string, error) {
	start := time.Now()
	next := start
	// A fetch still waiting for its answer when the watch's time is up is
	// given up: --duration bounds the watch, the fetch timeout each fetch.
	// The last snapshot, due at the end, has a moment for its answer.
	fctx := ctx
	if duration > 0 {
		grace := min(max(interval, time.Second), 5*time.Second)
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, start.Add(duration+grace))
		defer cancel()
	}
	for {
		err := w.snapshot(fctx)
		if ctx.Err() != nil {
			return "interrupted", nil
		}
		if fctx.Err() != nil {
			return "duration", nil
		}
		if err != nil {
			return "error", err
		}
		next = next.Add(interval)
		for now := time.Now(); next.Before(now); {
			next = next.Add(interval) // a slow fetch: skip the ticks it missed
		}
		if duration > 0 && next.Sub(start) > duration {
			return "duration", nil
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return "interrupted", nil
		case <-t.C:
		}
	}
}

// snapshot fetches one heap profile, keeps it, and updates the live line.
func (w *watcher) snapshot(ctx context.Context) error {
	n := w.series.Taken()
	body, p, err := w.fetch(ctx)
	if err != nil {
		return err
	}
	p, _ = heap.Clean(p, nil)
	snap, err := leak.FromProfile(p)
	if err != nil {
		return fmt.Errorf("%s is not a pprof heap endpoint: %w", redactURL(w.url), err)
	}
	received := time.Now()
	if snap.Time.IsZero() {
		snap.Time = received
	}
	if err := w.keep(w.series.Taken()+1, body, p); err != nil {
		return err
	}
	w.series.Add(snap)
	if w.proc != nil && w.rssGone.IsZero() {
		if mi, err := w.proc.MemoryInfoWithContext(ctx); err == nil {
			w.rss = append(w.rss, rssReading{received, mi.RSS})
		} else if running, _ := w.proc.IsRunningWithContext(ctx); !running {
			w.rssGone = received
		}
	}
	if n == 0 {
		precision, advice := leak.SamplingNote(snap.Period)
		w.live.println("gofil watch: " + precision)
		if advice != "" {
			w.live.println("gofil watch: " + advice)
		}
	}
	res := w.series.Analyze()
	line := fmt.Sprintf("gofil watch: %s, %s: heap %s", snapshotCount(n+1), res.Duration().Round(100*time.Millisecond), units.Bytes(res.Heap[len(res.Heap)-1]))
	switch {
	case !w.rssGone.IsZero():
		line += ", RSS: the --pid process has ended"
	case len(w.rss) > 0:
		line += ", RSS " + units.Bytes(int64(w.rss[len(w.rss)-1].rss))
	}
	if len(res.Suspects) > 0 {
		top := res.Suspects[0]
		line += fmt.Sprintf("; top suspect: %s +%s (%s/s)", top.Function, units.Bytes(top.GrowthBytes), units.Bytes(int64(top.BytesPerSecond)))
	} else {
		line += "; top suspect: none yet"
	}
	w.live.show(line)
	return nil
}

// fetch gets and parses one heap profile. Its errors say what is wrong
// with the endpoint in one line.
func (w *watcher) fetch(ctx context.Context) ([]byte, *profile.Profile, error) {
	n := w.series.Taken()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := w.client.Do(req)
	if err == nil {
		defer resp.Body.Close()
	}
	var body []byte
	if err == nil && resp.StatusCode == http.StatusOK {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
		if err == nil && len(body) > maxAnswerBytes {
			return nil, nil, fmt.Errorf("%s answered more than %s, more than a heap profile and more than gofil reads", redactURL(w.url), units.Bytes(maxAnswerBytes))
		}
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("no answer within %v", fetchTimeout)
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("cannot reach %s: %w", redactURL(w.url), err)
		}
		return nil, nil, fmt.Errorf("the server stopped answering after %d snapshots: %w", n, err)
	}
	if resp.StatusCode != http.StatusOK && n > 0 {
		return nil, nil, fmt.Errorf("snapshot %d: %s answered %s", n+1, redactURL(w.url), resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s is not a pprof heap endpoint: it answered %s (is net/http/pprof served there?)", redactURL(w.url), resp.Status)
	}
	p, err := heap.ParseProfile(body)
	if err != nil {
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '<' {
			return nil, nil, fmt.Errorf("%s is not a pprof heap endpoint: it returned an HTML page, not a profile (is net/http/pprof served there?)", redactURL(w.url))
		}
		return nil, nil, fmt.Errorf("%s is not a pprof heap endpoint: its answer is not a pprof profile: %w", redactURL(w.url), err)
	}
	return body, p, nil
}

// maxKept bounds the snapshot files a watch keeps on disk: the first and
// the latest maxKept-1, named by their number in the watch.
const maxKept = 1024

// keep writes snapshot number i (from 1) into the report's snapshots
// directory, as fetched if it is gzipped and re-encoded otherwise, and
// removes the one that falls out of the latest maxKept-1.
func (w *watcher) keep(i int, body []byte, p *profile.Profile) error {
	dir := filepath.Join(w.out, snapshotsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keeping snapshot %d: %w", i, err)
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			return fmt.Errorf("keeping snapshot %d: %w", i, err)
		}
		body = buf.Bytes()
	}
	if err := raw.WriteFile(dir, snapshotName(i), body); err != nil {
		return fmt.Errorf("keeping snapshot %d: %w", i, err)
	}
	if old := i - (maxKept - 1); old > 1 {
		if err := os.Remove(filepath.Join(dir, snapshotName(old))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("dropping snapshot %d: %w", old, err)
		}
	}
	return nil
}

// snapshotName is the file of snapshot number i: 0001.pb.gz, ...,
// 123456.pb.gz, in the order taken.
func snapshotName(i int) string { return fmt.Sprintf("%04d.pb.gz", i) }

// writeWatchReport writes leaks.json, growth.pb.gz and leaks.html.
func writeWatchReport(dir string, s *leak.Summary, res *leak.Result) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", leaksJSON, err)
	}
	if err := raw.WriteFile(dir, leaksJSON, append(data, '\n')); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := res.GrowthProfile().Write(&buf); err != nil {
		return fmt.Errorf("%s: %w", growthProfile, err)
	}
	if err := raw.WriteFile(dir, growthProfile, buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := leak.WriteHTML(&buf, s, res); err != nil {
		return fmt.Errorf("%s: %w", leaksHTML, err)
	}
	return raw.WriteFile(dir, leaksHTML, buf.Bytes())
}

// watchText prints the suspects and churning sites of s.
func watchText(w io.Writer, s *leak.Summary) {
	fmt.Fprintf(w, "gofil watch: %s over %.1fs; Go heap in use %s -> %s (sampled)\n",
		snapshotCount(s.Snapshots), s.DurationSeconds, units.Bytes(s.HeapBytesFirst), units.Bytes(s.HeapBytesLast))
	switch {
	case s.Verdict == leak.VerdictTooShort:
		fmt.Fprintf(w, "gofil watch: too short to judge leaks: %s\n", s.Note)
	case len(s.Suspects) == 0:
		fmt.Fprintf(w, "gofil watch: no leak suspects: no allocation site grew steadily by %s or more\n", units.Bytes(s.MinGrowthBytes))
	default:
		fmt.Fprintf(w, "gofil watch: leak suspects, largest growth first:\n")
		for i, site := range s.Suspects {
			if i == 10 {
				fmt.Fprintf(w, "  ... and %d more in %s\n", len(s.Suspects)-i, leaksJSON)
				break
			}
			fmt.Fprintf(w, "  %11s %11s/s  R² %.2f  %s\n", "+"+units.Bytes(site.GrowthBytes),
				units.Bytes(int64(site.BytesPerSecond)), site.R2, term.Site(site.Function, site.File, site.Line))
		}
	}
	if len(s.Churn) > 0 {
		fmt.Fprintf(w, "gofil watch: churn (allocated, then freed; not leaks):\n")
		for i, site := range s.Churn {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "  %11s allocated, in use %s  %s\n", units.Bytes(site.AllocatedBytes),
				units.Signed(site.GrowthBytes), term.Site(site.Function, site.File, site.Line))
		}
	}
}

// liveLine shows one status line on a terminal, rewritten in place, or one
// line per update elsewhere.
type liveLine struct {
	w io.Writer
	// tty is the terminal under w, written to directly: the carriage
	// return and the sequence that clears the rest of the line are
	// gofil's own, which w would escape. Nil elsewhere.
	tty   io.Writer
	shown bool
}

func newLiveLine(w io.Writer) *liveLine {
	l := &liveLine{w: w}
	if term.IsTerminal(w) {
		l.tty = term.Unescaped(w)
	}
	return l
}

// show shows s, one line, with whatever names it holds escaped.
func (l *liveLine) show(s string) {
	s = term.Name(s)
	if l.tty != nil {
		fmt.Fprintf(l.tty, "\r%s\x1b[K", s)
		l.shown = true
		return
	}
	fmt.Fprintln(l.w, s)
}

// println writes s on a line of its own, under a status line left open.
func (l *liveLine) println(s string) {
	l.done()
	fmt.Fprintln(l.w, s)
}

// done ends a line left open on a terminal.
func (l *liveLine) done() {
	if l.shown {
		fmt.Fprintln(l.w)
		l.shown = false
	}
}
