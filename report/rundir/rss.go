package rundir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
)

// RSSFile holds gofil's own readings of the program's resident memory,
// taken from outside the program ([Meta.RSS]), so that `gofil report DIR`
// can draw them again.
const RSSFile = "rss.tsv"

const rssHead = "# t_ms\trss_bytes\n"

// WriteRSS writes points into dir/rss.tsv, one reading a line: the time
// since the program started in milliseconds and the RSS in bytes,
// tab-separated. It writes nothing when there are no points.
//
//	if err := report.WriteRSS(dir, meta.RSS); err != nil {
//		return err
//	}
func WriteRSS(dir string, points []RSSPoint) error {
	if len(points) == 0 {
		return nil
	}
	var b bytes.Buffer
	writeRSS(&b, points)
	return raw.WriteFile(dir, RSSFile, b.Bytes())
}

// writeRSS writes the contents of rss.tsv into b.
func writeRSS(b *bytes.Buffer, points []RSSPoint) {
	b.WriteString(rssHead)
	for _, p := range points {
		b.WriteString(strconv.FormatFloat(float64(p.At)/float64(time.Millisecond), 'f', -1, 64))
		b.WriteByte('\t')
		b.WriteString(strconv.FormatUint(p.RSS, 10))
		b.WriteByte('\n')
	}
}

// ReadRSS reads dir/rss.tsv. A missing file gives an error that satisfies
// errors.Is(err, fs.ErrNotExist).
func ReadRSS(dir string) ([]RSSPoint, error) {
	f, err := regfile.OpenLimited(filepath.Join(dir, RSSFile), regfile.MaxInputBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	points, err := ParseRSS(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RSSFile, err)
	}
	return points, nil
}

// maxRSSMillis bounds the times of rss.tsv: 31 years, well within a
// Duration.
const maxRSSMillis = 1e12

// ParseRSS reads the format WriteRSS writes. Malformed lines are errors.
func ParseRSS(r io.Reader) ([]RSSPoint, error) {
	var out []RSSPoint
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		t, v, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("line %d: want two tab-separated fields", n)
		}
		msec, err := strconv.ParseFloat(t, 64)
		// At most maxRSSMillis: a time past what a Duration holds would
		// wrap to a negative one.
		if err != nil || !(msec >= 0 && msec <= maxRSSMillis) {
			return nil, fmt.Errorf("line %d: bad time %q", n, t)
		}
		rss, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad RSS %q", n, v)
		}
		out = append(out, RSSPoint{At: time.Duration(msec * float64(time.Millisecond)), RSS: rss})
	}
	return out, sc.Err()
}
