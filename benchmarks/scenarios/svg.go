package scenarios

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The runner's two pictures, written with the standard library only:
// [TimelineSVG] (requests to the primary and to the fallback over an
// outage, one line per contender) and [SuccessSVG] (success per contender
// per scenario). Both are 900 px wide.

// Played is one scenario and its rows, as [SuccessSVG] draws them.
type Played struct {
	Scenario Scenario
	Rows     []Result
}

const (
	svgWidth = 900
	svgFont  = `font-family="Helvetica, Arial, sans-serif"`
	svgGrey  = "#666666"
)

// contenderColours are the contenders' colours in both pictures, from the
// Okabe–Ito palette (distinguishable with the common colour-vision
// deficiencies), ailib's variants in blues.
var contenderColours = []struct{ prefix, colour string }{
	{"ailib, breaker off", "#56B4E9"},
	{"ailib, budget off", "#88CCEE"},
	{"ailib, limiter off", "#56B4E9"},
	{"ailib, TPM set", "#332288"},
	{"ailib", "#0072B2"},
	{"openai-go", "#E69F00"},
	{"failsafe-go + hedge", "#44AA99"},
	{"failsafe-go", "#009E73"},
	{"naive loop", "#D55E00"},
}

// otherColours go to contenders not listed above, in order.
var otherColours = []string{"#CC79A7", "#882255", "#999933", "#000000"}

// colours assigns each name a colour, distinct for unknown names.
func colours(names []string) map[string]string {
	out := map[string]string{}
	other := 0
	for _, n := range names {
		if _, ok := out[n]; ok {
			continue
		}
		c := ""
		for _, k := range contenderColours {
			if strings.HasPrefix(n, k.prefix) {
				c = k.colour
				break
			}
		}
		if c == "" {
			c = otherColours[other%len(otherColours)]
			other++
		}
		out[n] = c
	}
	return out
}

// svgWriter writes an SVG document, remembering the first write error.
type svgWriter struct {
	w   *bufio.Writer
	err error
}

func (s *svgWriter) f(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

func (s *svgWriter) open(height int, title string) {
	s.f(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n",
		svgWidth, height, svgWidth, height, svgFont)
	s.f("<title>%s</title>\n", esc(title))
	s.f(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
}

func (s *svgWriter) close() error {
	s.f("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

// text writes a text element; attrs are extra attributes.
func (s *svgWriter) text(x, y float64, attrs, body string) {
	s.f(`<text x="%s" y="%s" %s>%s</text>`+"\n", px(x), px(y), attrs, esc(body))
}

// header writes the title and the lines under it, and returns the y below
// them.
func (s *svgWriter) header(title string, lines ...string) float64 {
	s.text(20, 28, `font-size="17" font-weight="bold" fill="#111111"`, title)
	y := 28.0
	for _, l := range lines {
		for _, part := range wrap(l, int((svgWidth-40)/textWidth("x", 12))) {
			y += 16
			s.text(20, y, `font-size="12" fill="`+svgGrey+`"`, part)
		}
	}
	return y
}

// legend writes one swatch (a short line) and name per contender, wrapping
// at the right edge, and returns the y below it.
func (s *svgWriter) legend(y float64, names []string, col map[string]string) float64 {
	x := 20.0
	for _, n := range names {
		w := 30 + textWidth(n, 12) + 22
		if x+w > svgWidth-20 && x > 20 {
			x, y = 20, y+20
		}
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"/>`+"\n", px(x), px(y-4), px(x+24), px(y-4), col[n])
		s.text(x+30, y, `fill="#111111"`, n)
		x += w
	}
	return y
}

// TimelineSVG draws tls (one per contender) of scenario sc as two small
// multiples, requests to the primary and requests to the fallback per
// [TimelineBucket], with the outage shaded. caption says which run made
// them.
func TimelineSVG(w io.Writer, sc Scenario, tls []Timeline, caption string) error {
	const (
		left, right = 70.0, svgWidth - 24.0
		panelH      = 190.0
		gap         = 62.0
	)
	bucketS := TimelineBucket.Seconds()
	// x: the scenario's length, or the last bucket, rounded up to 10 s.
	end := sc.length().Seconds()
	names := make([]string, len(tls))
	for i, tl := range tls {
		names[i] = tl.Contender
		end = max(end, float64(len(tl.Primary))*bucketS)
	}
	xStep := niceStep(end, 10)
	end = math.Max(xStep, math.Ceil(end/xStep)*xStep)
	col := colours(names)
	xOf := func(t float64) float64 { return left + (right-left)*t/end }

	title := fmt.Sprintf("%s %s: requests per %s, to the primary and to the fallback", sc.ID, sc.Title, secs(bucketS))
	height := 0.0
	var s svgWriter
	s.w = bufio.NewWriter(w)
	// Height: header, legend, two panels with their axes, the x label.
	var buf strings.Builder
	body := svgWriter{w: bufio.NewWriter(&buf)}
	top := body.header(title, "The provider: "+sc.Provider+". "+
		"Lines are nudged up to 3 px apart so that equal counts stay visible.", caption)
	top = body.legend(top+24, names, col) + 34

	from, to, hasOutage := sc.outage()
	for p, panel := range []struct {
		label  string
		counts func(Timeline) []int
	}{
		{"to the primary", func(tl Timeline) []int { return tl.Primary }},
		{"to the fallback", func(tl Timeline) []int { return tl.Fallback }},
	} {
		y0 := top + float64(p)*(panelH+gap) // the panel's top
		y1 := y0 + panelH                   // its x axis
		peak := 1
		for _, tl := range tls {
			for _, n := range panel.counts(tl) {
				peak = max(peak, n)
			}
		}
		yStep := niceStep(float64(peak), 5)
		yMax := math.Ceil(float64(peak)/yStep) * yStep
		yOf := func(n float64) float64 { return y1 - panelH*n/yMax }

		body.text(left, y0-10, `font-size="14" font-weight="bold" fill="#111111"`, "Requests "+panel.label)
		if hasOutage {
			x0, x1 := xOf(from.Seconds()), xOf(to.Seconds())
			body.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="#D55E00" fill-opacity="0.10"/>`+"\n",
				px(x0), px(y0), px(x1-x0), px(panelH))
			body.text((x0+x1)/2, y0+14, `text-anchor="middle" font-size="11" fill="#A04000"`,
				fmt.Sprintf("primary down, %s–%s", secs(from.Seconds()), secs(to.Seconds())))
		}
		// Grid and y axis.
		for v := 0.0; v <= yMax+yStep/2; v += yStep {
			y := yOf(v)
			body.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd" stroke-width="1"/>`+"\n", px(left), px(y), px(right), px(y))
			body.text(left-6, y+4, `text-anchor="end" fill="`+svgGrey+`"`, strconv.FormatFloat(v, 'f', -1, 64))
		}
		mid := (y0 + y1) / 2
		body.f(`<text x="22" y="%s" transform="rotate(-90 22 %s)" text-anchor="middle" fill="#333333">requests per %s</text>`+"\n",
			px(mid), px(mid), esc(secs(bucketS)))
		// x axis.
		body.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333" stroke-width="1"/>`+"\n", px(left), px(y1), px(right), px(y1))
		for t := 0.0; t <= end+xStep/2; t += xStep {
			x := xOf(t)
			body.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333" stroke-width="1"/>`+"\n", px(x), px(y1), px(x), px(y1+5))
			body.text(x, y1+18, `text-anchor="middle" fill="`+svgGrey+`"`, strconv.FormatFloat(t, 'f', -1, 64))
		}
		// One line per contender, ailib last so it is on top.
		order := make([]int, 0, len(tls))
		for i, tl := range tls {
			if tl.Contender != "ailib" {
				order = append(order, i)
			}
		}
		for i, tl := range tls {
			if tl.Contender == "ailib" {
				order = append(order, i)
			}
		}
		for _, i := range order {
			tl := tls[i]
			// Nudge the lines apart, at most 6 px in all, so equal
			// counts show as parallel lines.
			nudge := 0.0
			if n := len(tls); n > 1 {
				nudge = min(2, 6/float64(n-1)) * (float64(i) - float64(n-1)/2)
			}
			counts := panel.counts(tl)
			width := "1.6"
			if tl.Contender == "ailib" {
				width = "2.6"
			}
			var pts strings.Builder
			// A step line: each bucket is a flat segment over its width.
			for b, n := range counts {
				y := px(yOf(float64(n)) - nudge)
				fmt.Fprintf(&pts, "%s,%s %s,%s ", px(xOf(float64(b)*bucketS)), y, px(xOf(float64(b+1)*bucketS)), y)
			}
			if pts.Len() == 0 {
				continue
			}
			body.f(`<polyline fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round" stroke-opacity="0.9" points="%s"><title>%s</title></polyline>`+"\n",
				col[tl.Contender], width, strings.TrimSpace(pts.String()), esc(tl.Contender+", requests "+panel.label))
		}
		height = y1 + 18
	}
	height += 22
	body.text((left+right)/2, height, `text-anchor="middle" fill="#333333"`, "time since the first call (s, scenario time)")
	height += 14
	if err := body.w.Flush(); err != nil {
		return err
	}
	s.open(int(math.Ceil(height)), title)
	s.f("%s", buf.String())
	return s.close()
}

// SuccessSVG draws the share of calls that succeeded, per contender (rows)
// and scenario (columns), as a bar in each cell with the scenario's
// theoretical best as a tick. caption says which run made them.
func SuccessSVG(w io.Writer, played []Played, caption string) error {
	const (
		labelW = 228.0
		rowH   = 30.0
		track  = 50.0
	)
	var names []string
	seen := map[string]bool{}
	for _, p := range played {
		for _, r := range p.Rows {
			if !seen[r.Contender] {
				seen[r.Contender] = true
				names = append(names, r.Contender)
			}
		}
	}
	col := colours(names)
	colW := (svgWidth - labelW - 16) / float64(max(len(played), 1))

	ids := make([]string, len(played))
	for i, p := range played {
		ids[i] = p.Scenario.ID
	}
	span := strings.Join(ids, ", ")
	if len(ids) > 2 {
		span = ids[0] + "–" + ids[len(ids)-1]
	}
	title := "Success per contender and scenario, " + span

	var s svgWriter
	s.w = bufio.NewWriter(w)
	var buf strings.Builder
	body := svgWriter{w: bufio.NewWriter(&buf)}
	y := body.header(title, "Share of calls that succeeded; the black tick is the scenario's theoretical best; — : not played.", caption)

	// Column headings: the scenario's ID, its title wrapped.
	y += 30
	lines := 1
	for i, p := range played {
		x := labelW + float64(i)*colW + 4
		body.text(x, y, `font-size="13" font-weight="bold" fill="#111111"`, p.Scenario.ID)
		for j, l := range wrap(p.Scenario.Title, int(colW/7)) {
			body.text(x, y+15+float64(j)*13, `font-size="11" fill="`+svgGrey+`"`, l)
			lines = max(lines, j+1)
		}
	}
	y += 15 + float64(lines)*13

	for ri, name := range names {
		top := y + float64(ri)*rowH
		if ri%2 == 0 {
			body.f(`<rect x="12" y="%s" width="%d" height="%s" fill="#f4f4f4"/>`+"\n", px(top), svgWidth-24, px(rowH))
		}
		mid := top + rowH/2
		body.f(`<rect x="20" y="%s" width="10" height="10" fill="%s"/>`+"\n", px(mid-5), col[name])
		body.text(36, mid+4, `fill="#111111"`, name)
		for ci, p := range played {
			x := labelW + float64(ci)*colW + 4
			var r *Result
			for k := range p.Rows {
				if p.Rows[k].Contender == name {
					r = &p.Rows[k]
				}
			}
			if r == nil {
				body.text(x+track/2, mid+4, `text-anchor="middle" fill="#aaaaaa"`, "—")
				continue
			}
			if r.Err != nil {
				body.text(x, mid+4, `fill="#A04000"`, "not run")
				continue
			}
			sv := r.Success()
			tip := fmt.Sprintf("%s, %s: %s of %d calls succeeded", name, p.Scenario.ID, pctShort(sv), r.Calls)
			if b := p.Scenario.Best.Success; b >= 0 {
				tip += fmt.Sprintf(" (theoretical best %s)", pctShort(b))
			}
			body.f(`<rect x="%s" y="%s" width="%s" height="12" fill="#e2e2e2"/>`+"\n", px(x), px(mid-6), px(track))
			body.f(`<rect x="%s" y="%s" width="%s" height="12" fill="%s"><title>%s</title></rect>`+"\n",
				px(x), px(mid-6), px(track*sv), col[name], esc(tip))
			if b := p.Scenario.Best.Success; b >= 0 {
				bx := x + track*b
				body.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#111111" stroke-width="2"/>`+"\n", px(bx), px(mid-10), px(bx), px(mid+10))
			}
			body.text(x+track+5, mid+4, `fill="#111111"`, pctShort(sv))
		}
	}
	height := y + float64(len(names))*rowH + 16
	if err := body.w.Flush(); err != nil {
		return err
	}
	s.open(int(math.Ceil(height)), title)
	s.f("%s", buf.String())
	return s.close()
}

// niceStep returns a step of 1, 2 or 5 × 10ⁿ that divides [0, span] into
// about n intervals.
func niceStep(span float64, n int) float64 {
	if !(span > 0) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return math.Max(m*mag, 1)
		}
	}
	return math.Max(10*mag, 1)
}

// wrap splits s into lines of at most n characters, at spaces.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= n:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// textWidth estimates the width of s in px at font size size.
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * 0.56
}

// pctShort formats a share as "99.2%", "100%" or "0%".
func pctShort(f float64) string {
	switch {
	case f >= 1:
		return "100%"
	case f <= 0:
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// secs formats seconds: "0.5 s", "65 s".
func secs(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64) + " s"
}

// px formats a coordinate with at most one decimal.
func px(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
