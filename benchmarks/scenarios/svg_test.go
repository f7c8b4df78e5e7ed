package scenarios

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
)

// wellFormed decodes the whole document with encoding/xml and returns how
// many elements of each name it holds.
func wellFormed(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	count := map[string]int{}
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 && el.Name.Local != "svg" {
				t.Errorf("root element %q, want svg", el.Name.Local)
			}
			depth++
			count[el.Name.Local]++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || count["svg"] != 1 {
		t.Errorf("depth %d at the end, %d svg elements", depth, count["svg"])
	}
	return count
}

func TestTimelineSVG(t *testing.T) {
	sc, _ := ByID("S2")
	tls := []Timeline{
		{Contender: "ailib", Primary: []int{5, 5, 0, 1, 5}, Fallback: []int{0, 0, 5, 4, 0}},
		{Contender: "openai-go " + OpenAIGoVersion, Primary: []int{5, 5, 15, 15, 5}, Fallback: []int{0, 0, 5, 5, 0}},
		{Contender: "naive loop", Primary: []int{5, 5, 20, 20, 5}, Fallback: []int{0, 0, 0, 5, 5}},
		{Contender: "a <new> & odd one", Primary: []int{1}, Fallback: []int{0}},
	}
	var b bytes.Buffer
	if err := TimelineSVG(&b, sc, tls, "synthetic, for the test"); err != nil {
		t.Fatal(err)
	}
	count := wellFormed(t, b.Bytes())
	doc := b.String()
	// Two panels × one polyline per contender.
	if got, want := count["polyline"], 2*len(tls); got != want {
		t.Errorf("%d polylines, want %d", got, want)
	}
	if count["rect"] < 3 { // background + the outage, shaded in both panels
		t.Errorf("%d rects, want the background and the outage in both panels", count["rect"])
	}
	for _, want := range []string{"ailib", "openai-go " + OpenAIGoVersion, "naive loop", "a &lt;new&gt; &amp; odd one",
		"Requests to the primary", "Requests to the fallback", "primary down, 5 s–65 s", "synthetic, for the test",
		`width="900"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(doc)
	}
}

func TestSuccessSVG(t *testing.T) {
	var played []Played
	for _, sc := range All() {
		rows := []Result{
			{Contender: "ailib", Calls: 100, OK: 99},
			{Contender: "naive loop", Calls: 100, OK: 50},
		}
		if sc.ID == "S5" {
			rows = append(rows, Result{Contender: "failsafe-go + hedge", Calls: 10, OK: 10})
		}
		if sc.ID == "S7" {
			rows = append(rows, Result{Contender: "broken", Err: errors.New("cannot build")})
		}
		played = append(played, Played{Scenario: sc, Rows: rows})
	}
	var b bytes.Buffer
	if err := SuccessSVG(&b, played, "synthetic, for the test"); err != nil {
		t.Fatal(err)
	}
	count := wellFormed(t, b.Bytes())
	doc := b.String()
	// A track and a bar per cell played (7 + 7 + 1), the background, the
	// stripes of rows 1 and 3 and the four colour keys.
	if got, want := count["rect"], 2*15+1+2+4; got != want {
		t.Errorf("%d rects, want %d", got, want)
	}
	for _, want := range []string{"ailib", "naive loop", "failsafe-go + hedge", "broken", "not run", "S1", "S7",
		"99.0%", "50.0%", "100%", "S1–S7", "synthetic, for the test", "outage, then", "retry storm"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the success picture lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(doc)
	}
}

// TestTimelineCountsRequests plays S2 with the naive loop in a synctest
// bubble and checks its timeline against the server's counts: every
// request is in a bucket, the warm-up sends 10 calls/s = 5 per half second
// to the primary and nothing to the fallback, and the outage sends calls
// to the fallback.
func TestTimelineCountsRequests(t *testing.T) {
	sc, _ := ByID("S2")
	var naive Contender
	for _, c := range Contenders() {
		if c.Name == "naive loop" {
			naive = c
		}
	}
	var rows []Result
	var tls []Timeline
	var lines []string
	synctest.Test(t, func(t *testing.T) {
		rows, tls = RunAllTimed(t.Context(), InProcess(), sc, []Contender{naive}, Options{Seed: seed},
			func(l string) { lines = append(lines, l) })
	})
	if len(rows) != 1 || len(tls) != 1 {
		t.Fatalf("%d rows, %d timelines, want 1 each", len(rows), len(tls))
	}
	r, tl := rows[0], tls[0]
	t.Logf("%v\n%v", r, tl)
	if tl.Contender != "naive loop" {
		t.Errorf("timeline of %q", tl.Contender)
	}
	if p, f := tl.Sum(); p != r.PrimaryRequests || f != r.FallbackRequests {
		t.Errorf("timeline counts %d primary, %d fallback requests; the server %d and %d", p, f, r.PrimaryRequests, r.FallbackRequests)
	}
	if len(tl.Primary) != len(tl.Fallback) || len(tl.Primary) < 200 {
		t.Errorf("%d and %d buckets, want the same number, ≥ 200 (100 s)", len(tl.Primary), len(tl.Fallback))
	}
	warm := int(s2Warmup / TimelineBucket)
	for i := 0; i < warm && i < len(tl.Primary); i++ {
		if tl.Primary[i] != 5 || tl.Fallback[i] != 0 {
			t.Errorf("warm-up bucket %d: %d primary, %d fallback requests, want 5 and 0", i, tl.Primary[i], tl.Fallback[i])
		}
	}
	outage := 0
	for i := warm; i < int((s2Warmup+s2Outage)/TimelineBucket) && i < len(tl.Fallback); i++ {
		outage += tl.Fallback[i]
	}
	if outage == 0 {
		t.Errorf("no request to the fallback during the outage")
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "S2 naive loop: started") || !strings.Contains(lines[1], "S2 naive loop: finished") {
		t.Errorf("progress lines %q, want started then finished", lines)
	}
}
