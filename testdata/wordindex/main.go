// Command wordindex builds a concordance of a generated corpus: every
// content word, with the line and the context of each of its occurrences,
// then renders one page per word, as text and as HTML. Its heap is maps,
// slices grown by append and strings of every length: lines read by
// bufio.Scanner and split by strings.Fields, contexts written to a
// strings.Builder per word, headings joined by concatenation, pages written
// to builders sized in advance. At the end, when the heap is largest, it
// holds:
//
//	main.buildIndex   map[string]*entry: per word, the line of each
//	                  occurrence ([]int, grown by append) and their contexts
//	                  (a strings.Builder, grown as it is written), about
//	                  150 MiB
//	main.renderPages  two pages per word and a map[string][]int of pages by
//	                  initial, about 360 MiB
//
// Frequent words make large objects, the many rare ones small objects of
// every size class: about 40% of buildIndex's bytes and a third of
// renderPages' are in objects of 32 KiB or less.
//
// The corpus is written to a temporary file and read back line by line, so
// the text never sits in the heap. buildIndex runs first and makes nearly
// all the garbage (lines, field slices, lower-cased words, the old arrays
// of slices and builders that grew) while the live heap is at most its own;
// renderPages computes the size of every page before writing it and makes
// next to none. The heap therefore stays well below the end's until
// buildIndex is done.
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before and after each of the two
// calls, with runtime.KeepAlive on what they return. Each call's garbage is
// collected by the GC that measures it. With TRUTH_OUT set, the program
// writes its truth there as JSON.
package main

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"example.com/gofiltest/truth"
)

const (
	vocabulary   = 12000   // content words
	sentences    = 340_000 // in the corpus
	lineWidth    = 72
	contextWords = 3 // either side of an occurrence
)

// stopWords are not indexed.
var stopWords = strings.Fields(`the of and to in a is that for it as was with be by on not he
	this are or his from at which but have an they you were her she there one all we their`)

// entry is one content word of the concordance.
type entry struct {
	lines []int // the line of each occurrence
	// contexts holds each occurrence as its line has it, with up to
	// contextWords words either side, one occurrence a line.
	contexts strings.Builder
}

// page is one word's page of the rendered concordance.
type page struct {
	word   string
	text   string
	markup string
}

func main() {
	var t truth.Truth
	path, err := writeCorpus()
	if err != nil {
		fail(err)
	}
	f, err := os.Open(path)
	os.Remove(path)
	if err != nil {
		fail(err)
	}

	before := truth.LiveHeap()
	idx, err := buildIndex(f)
	if err != nil {
		fail(err)
	}
	f.Close()
	before = t.Add("main.buildIndex", before)

	pages, byInitial := renderPages(idx)
	t.Total = int64(t.Add("main.renderPages", before))

	if err := t.Write(); err != nil {
		fail(err)
	}
	var size int
	sum := uint64(14695981039346656037)
	for _, p := range pages {
		size += len(p.text) + len(p.markup)
		sum = fnv1a(sum, p.word)
		sum = fnv1a(sum, p.text[max(len(p.text)-64, 0):])
	}
	fmt.Printf("wordindex: %d words, %d initials, %d bytes of pages, fnv-1a %016x\n", len(idx), len(byInitial), size, sum)
	runtime.GC()
	runtime.KeepAlive(idx)
	runtime.KeepAlive(pages)
	runtime.KeepAlive(byInitial)
}

// buildIndex reads text line by line and indexes every occurrence of every
// word that is not a stop word, with its context as it is written in the
// line. Stop words are in the index, as nil.
func buildIndex(r io.Reader) (map[string]*entry, error) {
	idx := make(map[string]*entry)
	for _, w := range stopWords {
		idx[w] = nil
	}
	var spans []span
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		words := strings.Fields(line)
		spans = spans[:0]
		pos := 0
		for i, w := range words {
			start := pos + strings.Index(line[pos:], w)
			pos = start + len(w)
			spans = append(spans, span{start, pos})
			words[i] = strings.ToLower(strings.TrimRight(w, ".,;:"))
		}
		for i, w := range words {
			e, seen := idx[w]
			if seen && e == nil {
				continue
			}
			if e == nil {
				e = &entry{}
				idx[strings.Clone(w)] = e
			}
			e.lines = append(e.lines, n)
			lo, hi := max(i-contextWords, 0), min(i+contextWords, len(words)-1)
			e.contexts.WriteString(line[spans[lo].start:spans[hi].end])
			e.contexts.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading corpus: %w", err)
	}
	for _, w := range stopWords {
		delete(idx, w)
	}
	return idx, nil
}

// span is where a word is in its line.
type span struct{ start, end int }

// renderPages writes two pages per word, in alphabetical order: a text page
// with a heading and each occurrence's line number and context, and the
// same as an HTML list. It also indexes the pages by the word's initial.
func renderPages(idx map[string]*entry) ([]page, map[string][]int) {
	words := make([]string, 0, len(idx))
	for w := range idx {
		words = append(words, w)
	}
	sort.Strings(words)
	pages := make([]page, 0, len(words))
	byInitial := make(map[string][]int)
	var num [20]byte
	for _, w := range words {
		e := idx[w]
		heading := w + " (" + strconv.Itoa(len(e.lines)) + " occurrences)"
		title := "<h2 id=\"" + html.EscapeString(w) + "\">" + html.EscapeString(heading) + "</h2>\n<ol>\n"

		textSize, markupSize := len(heading)+1, len(title)+len("</ol>\n")
		rest := e.contexts.String()
		for _, line := range e.lines {
			c, after, _ := strings.Cut(rest, "\n")
			rest = after
			n := len(strconv.AppendInt(num[:0], int64(line), 10))
			textSize += n + 2 + len(c) + 1
			markupSize += len(`<li><a href="#L`) + n + len(`">`) + n + len(`</a> `) + len(html.EscapeString(c)) + len("</li>\n")
		}

		var text, markup strings.Builder
		text.Grow(textSize)
		markup.Grow(markupSize)
		text.WriteString(heading)
		text.WriteByte('\n')
		markup.WriteString(title)
		rest = e.contexts.String()
		for _, line := range e.lines {
			c, after, _ := strings.Cut(rest, "\n")
			rest = after
			n := strconv.AppendInt(num[:0], int64(line), 10)
			text.Write(n)
			text.WriteString("  ")
			text.WriteString(c)
			text.WriteByte('\n')
			markup.WriteString(`<li><a href="#L`)
			markup.Write(n)
			markup.WriteString(`">`)
			markup.Write(n)
			markup.WriteString(`</a> `)
			markup.WriteString(html.EscapeString(c))
			markup.WriteString("</li>\n")
		}
		markup.WriteString("</ol>\n")

		initial := w[:1]
		byInitial[initial] = append(byInitial[initial], len(pages))
		pages = append(pages, page{word: w, text: text.String(), markup: markup.String()})
	}
	return pages, byInitial
}

// fnv1a folds s into the FNV-1a hash h.
func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// writeCorpus writes the corpus to a temporary file and returns its path:
// sentences of words drawn from a Zipf-like distribution, stop words among
// them, wrapped into lines.
func writeCorpus() (string, error) {
	f, err := os.CreateTemp("", "wordindex-*.txt")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	words := makeVocabulary()
	rng := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 {
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}
	logN := math.Log(vocabulary)
	col := 0
	for s := 0; s < sentences; s++ {
		n := 6 + int(next()%14)
		for i := 0; i < n; i++ {
			var word string
			if next()%4 == 0 {
				word = stopWords[next()%uint64(len(stopWords))]
			} else {
				u := float64(next()>>11) / (1 << 53)
				word = words[int(math.Exp(u*logN))-1]
			}
			if i == 0 {
				word = strings.ToUpper(word[:1]) + word[1:]
			}
			if i == n-1 {
				word += "."
			}
			if col > 0 && col+1+len(word) > lineWidth {
				w.WriteByte('\n')
				col = 0
			}
			if col > 0 {
				w.WriteByte(' ')
				col++
			}
			w.WriteString(word)
			col += len(word)
		}
	}
	w.WriteByte('\n')
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the corpus: %w", err)
	}
	return f.Name(), nil
}

// makeVocabulary returns the content words, most frequent first: distinct
// words of two to four syllables.
func makeVocabulary() []string {
	syllables := strings.Fields("ka lo mi ne ru sa ti vo ze pa qu or en an is ul der mon tes bri")
	words := make([]string, vocabulary)
	for i := range words {
		var b strings.Builder
		for x := i + len(syllables); x > 0; x /= len(syllables) {
			b.WriteString(syllables[x%len(syllables)])
		}
		words[i] = b.String()
	}
	return words
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wordindex:", err)
	os.Exit(1)
}
