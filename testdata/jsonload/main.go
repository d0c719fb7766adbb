// Command jsonload keeps a replica of a catalog service from the service's
// feed, a stream of JSON messages: a snapshot in three sections, products,
// templates and pages, then price updates. It reads the feed through one
// json.Decoder, which the replica keeps open for further updates. The
// decoder's buffer grows by doubling (in (*Decoder).refill) until it holds
// the largest message, the products section, and is kept at that size. At
// the end, when the heap is largest, it holds:
//
//	main.(*replica).loadProducts   the decoder's 64 MiB buffer and 76
//	                               products decoded into structs, each with
//	                               an image of 384..768 KiB (about 108 MiB)
//	main.(*replica).loadTemplates  80 templates decoded into map[string]any,
//	                               bodies of 256 KiB..1 MiB (about 52 MiB)
//	main.(*replica).loadPages      86 pages decoded into []any, HTML of
//	                               256 KiB..1 MiB (about 54 MiB)
//
// Each line that allocates these bytes allocates many sizes: the decoder's
// buffer, the images (base64-decoded into a slice of their own length), the
// strings.
//
// The feed is generated into a temporary file and read back, so its text
// (three messages of 54..61 MB, 170 MB in all) never sits in the heap. The
// products section is the largest message and comes first, so the
// decoder's buffer reaches its final size, and its earlier sizes become
// garbage, while the heap is small; the later sections fit in that buffer,
// and decoding them makes next to no garbage.
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before and after each of the three
// sections, with runtime.KeepAlive on the replica. With TRUTH_OUT set, the
// program writes its truth there as JSON.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"

	"example.com/gofiltest/truth"
)

const (
	products  = 76
	templates = 80
	pages     = 86
	updates   = 200
)

// product is one product of the catalog.
type product struct {
	SKU   string            `json:"sku"`
	Name  string            `json:"name"`
	Price float64           `json:"price"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Image []byte            `json:"image"`
}

// update is a message of the feed after the snapshot.
type update struct {
	Kind  string  `json:"kind"`
	SKU   string  `json:"sku"`
	Price float64 `json:"price"`
}

// replica is the local copy of the catalog.
type replica struct {
	feed      *json.Decoder
	products  []product
	bySKU     map[string]int
	templates map[string]any
	pages     []any
	applied   int
}

func main() {
	var t truth.Truth
	path, err := writeFeed()
	if err != nil {
		fail(err)
	}
	f, err := os.Open(path)
	os.Remove(path)
	if err != nil {
		fail(err)
	}
	defer f.Close()
	r := &replica{feed: json.NewDecoder(f)}

	before := truth.LiveHeap()
	if err := r.loadProducts(); err != nil {
		fail(err)
	}
	before = t.Add("main.(*replica).loadProducts", before)
	if err := r.loadTemplates(); err != nil {
		fail(err)
	}
	before = t.Add("main.(*replica).loadTemplates", before)
	if err := r.loadPages(); err != nil {
		fail(err)
	}
	t.Add("main.(*replica).loadPages", before)
	if err := r.follow(); err != nil {
		fail(err)
	}

	t.Total = int64(truth.LiveHeap())
	if err := t.Write(); err != nil {
		fail(err)
	}
	fmt.Printf("jsonload: %d products, %d templates, %d pages, %d updates, checksum %d\n",
		len(r.products), len(r.templates), len(r.pages), r.applied, r.checksum())
	runtime.GC()
	runtime.KeepAlive(r)
}

// loadProducts decodes the products section of the snapshot.
func (r *replica) loadProducts() error {
	var msg struct {
		Kind     string    `json:"kind"`
		Products []product `json:"products"`
	}
	if err := r.feed.Decode(&msg); err != nil {
		return fmt.Errorf("products: %w", err)
	}
	if msg.Kind != "products" {
		return fmt.Errorf("products: got a %q message", msg.Kind)
	}
	r.products = msg.Products
	r.bySKU = make(map[string]int, len(r.products))
	for i, p := range r.products {
		r.bySKU[p.SKU] = i
	}
	return nil
}

// loadTemplates decodes the templates section of the snapshot, whose shape
// is the service's business: it is kept as decoded.
func (r *replica) loadTemplates() error {
	var msg map[string]any
	if err := r.feed.Decode(&msg); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if msg["kind"] != "templates" {
		return fmt.Errorf("templates: got a %q message", msg["kind"])
	}
	tmpl, ok := msg["templates"].(map[string]any)
	if !ok {
		return fmt.Errorf("templates: no templates object")
	}
	r.templates = tmpl
	return nil
}

// loadPages decodes the pages section of the snapshot.
func (r *replica) loadPages() error {
	var msg struct {
		Kind  string `json:"kind"`
		Pages []any  `json:"pages"`
	}
	if err := r.feed.Decode(&msg); err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	if msg.Kind != "pages" {
		return fmt.Errorf("pages: got a %q message", msg.Kind)
	}
	r.pages = msg.Pages
	return nil
}

// follow applies the feed's updates until it has no more.
func (r *replica) follow() error {
	for {
		var u update
		err := r.feed.Decode(&u)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("updates: %w", err)
		}
		i, ok := r.bySKU[u.SKU]
		if u.Kind != "price" || !ok {
			return fmt.Errorf("updates: bad update %+v", u)
		}
		r.products[i].Price = u.Price
		r.applied++
	}
}

// checksum sums a few bytes of everything the replica holds.
func (r *replica) checksum() int {
	sum := 0
	for _, p := range r.products {
		sum += int(p.Image[0]) + int(p.Image[len(p.Image)-1]) + int(p.Price*100)
	}
	for _, v := range r.templates {
		sum += len(v.(map[string]any)["body"].(string))
	}
	for _, v := range r.pages {
		sum += len(v.(map[string]any)["html"].(string))
	}
	return sum
}

// writeFeed writes the service's feed to a temporary file and returns its
// path.
func writeFeed() (string, error) {
	f, err := os.CreateTemp("", "jsonload-*.json")
	if err != nil {
		return "", err
	}
	g := &generator{w: bufio.NewWriterSize(f, 1<<16), rng: 0x9e3779b97f4a7c15}
	g.products()
	g.templates()
	g.pages()
	g.updates()
	err = g.w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the feed: %w", err)
	}
	return f.Name(), nil
}

// generator writes the feed's messages.
type generator struct {
	w   *bufio.Writer
	rng uint64
}

// next is xorshift64*.
func (g *generator) next() uint64 {
	g.rng ^= g.rng >> 12
	g.rng ^= g.rng << 25
	g.rng ^= g.rng >> 27
	return g.rng * 2685821657736338717
}

// between returns a number in [lo, hi].
func (g *generator) between(lo, hi int) int {
	return lo + int(g.next()%uint64(hi-lo+1))
}

func (g *generator) products() {
	g.w.WriteString(`{"kind":"products","products":[`)
	for i := 0; i < products; i++ {
		if i > 0 {
			g.w.WriteByte(',')
		}
		fmt.Fprintf(g.w, `{"sku":"SKU-%05d","name":"%s %s","price":%d.%02d,"tags":["%s","%s"],"attrs":{"color":"%s","size":"%s"},"image":"`,
			i, g.word(), g.word(), g.between(1, 500), g.between(0, 99), g.word(), g.word(), g.word(), g.word())
		enc := base64.NewEncoder(base64.StdEncoding, g.w)
		var block [8]byte
		for n := g.between(384<<10, 768<<10) / len(block); n > 0; n-- {
			v := g.next()
			for k := range block {
				block[k] = byte(v >> (8 * k))
			}
			enc.Write(block[:])
		}
		enc.Close()
		g.w.WriteString(`"}`)
	}
	g.w.WriteString("]}\n")
}

func (g *generator) templates() {
	g.w.WriteString(`{"kind":"templates","templates":{`)
	for i := 0; i < templates; i++ {
		if i > 0 {
			g.w.WriteByte(',')
		}
		fmt.Fprintf(g.w, `"tmpl-%03d":{"title":"%s","ttl":%d,"cache":%t,"body":"`, i, g.word(), g.between(60, 3600), i%3 != 0)
		g.text(g.between(256<<10, 1<<20), "")
		g.w.WriteString(`","partials":[`)
		for k := g.between(1, 2); k > 0; k-- {
			g.w.WriteByte('"')
			g.text(g.between(4<<10, 12<<10), "")
			g.w.WriteByte('"')
			if k > 1 {
				g.w.WriteByte(',')
			}
		}
		g.w.WriteString(`]}`)
	}
	g.w.WriteString("}}\n")
}

func (g *generator) pages() {
	g.w.WriteString(`{"kind":"pages","pages":[`)
	for i := 0; i < pages; i++ {
		if i > 0 {
			g.w.WriteByte(',')
		}
		fmt.Fprintf(g.w, `{"path":"/docs/%d","title":"%s %s","html":"`, i, g.word(), g.word())
		g.text(g.between(256<<10, 1<<20), "p")
		g.w.WriteString(`"}`)
	}
	g.w.WriteString("]}\n")
}

func (g *generator) updates() {
	for i := 0; i < updates; i++ {
		fmt.Fprintf(g.w, `{"kind":"price","sku":"SKU-%05d","price":%d.%02d}`+"\n", g.between(0, products-1), g.between(1, 500), g.between(0, 99))
	}
}

var words = []string{
	"catalog", "price", "order", "season", "blue", "linen", "cotton", "summer", "sale", "new",
	"classic", "slim", "warm", "light", "travel", "home", "garden", "kitchen", "office", "gift",
}

func (g *generator) word() string {
	return words[g.next()%uint64(len(words))]
}

// text writes about n bytes of sentences, in paragraphs if tag is set.
func (g *generator) text(n int, tag string) {
	for n > 0 {
		if tag != "" {
			n -= len(tag) + 2
			g.w.WriteString("<" + tag + ">")
		}
		for s := g.between(3, 8); s > 0 && n > 0; s-- {
			for k := g.between(6, 14); k > 0; k-- {
				w := g.word()
				g.w.WriteString(w)
				g.w.WriteByte(' ')
				n -= len(w) + 1
			}
			g.w.WriteString("and more. ")
			n -= len("and more. ")
		}
		if tag != "" {
			g.w.WriteString("</" + tag + ">")
			n -= len(tag) + 3
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "jsonload:", err)
	os.Exit(1)
}
