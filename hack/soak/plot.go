package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// plotSVG draws three stacked panels over the soak's time: the server's resident memory, its
// goroutines and open files, and the latency percentiles of each interval; the IAM fault windows
// are shaded. Plain SVG polylines, no dependencies.
func plotSVG(samples []sample, o options) []byte {
	const width, panelH, left, right, top, gap = 900.0, 170.0, 70.0, 20.0, 40.0, 50.0
	plotW := width - left - right
	total := o.duration.Seconds()
	x := func(at time.Duration) float64 { return left + plotW*at.Seconds()/total }
	var b strings.Builder
	height := top + 3*(panelH+gap)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15">irsa-guard serve soak: %s at %d AdmissionReviews/s offered; shaded: IAM faults</text>`+"\n", left, o.duration, o.rate)

	type series struct {
		name, color string
		value       func(sample) float64
	}
	panels := []struct {
		title string
		unit  string
		lines []series
	}{
		{"resident memory (VmRSS)", "MiB", []series{{"RSS", "#1f77b4", func(s sample) float64 { return s.rssMiB }}}},
		{"goroutines and open files", "", []series{
			{"goroutines", "#2ca02c", func(s sample) float64 { return float64(s.goroutines) }},
			{"open files", "#9467bd", func(s sample) float64 { return float64(s.fds) }},
		}},
		{"latency per 10 s interval, from when each request was due", "ms", []series{
			{"p50", "#1f77b4", func(s sample) float64 { return ms(s.p50) }},
			{"p99", "#ff7f0e", func(s sample) float64 { return ms(s.p99) }},
			{"max", "#d62728", func(s sample) float64 { return ms(s.max) }},
		}},
	}
	for i, p := range panels {
		y0 := top + float64(i)*(panelH+gap) + 20
		maxV := 0.0
		for _, l := range p.lines {
			for _, s := range samples {
				maxV = math.Max(maxV, l.value(s))
			}
		}
		maxV = niceCeil(maxV)
		y := func(v float64) float64 { return y0 + panelH - panelH*v/maxV }
		// fault windows
		for _, s := range samples {
			if s.fault != "" {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fde0dc"/>`+"\n", x(s.at-o.interval), y0, x(s.at)-x(s.at-o.interval), panelH)
			}
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="13">%s</text>`+"\n", left, y0-6, p.title)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", left, y0, plotW, panelH)
		for _, frac := range []float64{0, 0.5, 1} {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%g %s</text>`+"\n", left-6, y(maxV*frac)+4, maxV*frac, p.unit)
		}
		for m := time.Duration(0); m <= o.duration; m += tick(o.duration) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(m), y0+panelH+14, m)
		}
		for j, l := range p.lines {
			var pts []string
			for _, s := range samples {
				if v := l.value(s); v >= 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.at), y(v)))
				}
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", width-right-80*float64(len(p.lines)-j), y0-6, l.color, l.name)
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tick(d time.Duration) time.Duration {
	if d <= 2*time.Minute {
		return 20 * time.Second
	}
	return time.Minute
}

// printTable prints the samples and the summary docs/performance.md quotes.
func printTable(w io.Writer, samples []sample, o options) {
	fmt.Fprintf(w, "\n| t | sent | answered | errors | denied | could not verify | p50 ms | p99 ms | max ms | RSS MiB | goroutines | open files | IAM fault |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var sent, answered, errs int
	for _, s := range samples {
		sent, answered, errs = sent+s.sent, answered+s.answered, errs+s.errors
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %.0f%% | %.1f | %.1f | %.1f | %.1f | %d | %d | %s |\n", s.at, s.sent, s.answered, s.errors, s.denied,
			100*s.couldNotVerifyShare, ms(s.p50), ms(s.p99), ms(s.max), s.rssMiB, s.goroutines, s.fds, s.fault)
	}
	fmt.Fprintf(w, "\nsummary: %d offered, %d answered, %d errors (%.2f%%), %.0f/s answered\n", sent, answered, errs, 100*float64(errs)/float64(max(sent, 1)),
		float64(answered)/o.duration.Seconds())
	// Flat is the target: per 2-minute window, the floor (between fault windows) and the peak (in
	// them) of resident memory and goroutines.
	fmt.Fprintf(w, "\n| window | RSS floor MiB | RSS peak MiB | goroutines floor | goroutines peak | p99 floor ms | p99 peak ms |\n|---|---|---|---|---|---|---|\n")
	per := int(2 * time.Minute / o.interval)
	for i := 0; i < len(samples); i += per {
		win := samples[i:min(len(samples), i+per)]
		lo, hi := win[0], win[0]
		for _, s := range win {
			lo.rssMiB, hi.rssMiB = math.Min(lo.rssMiB, s.rssMiB), math.Max(hi.rssMiB, s.rssMiB)
			lo.goroutines, hi.goroutines = min(lo.goroutines, s.goroutines), max(hi.goroutines, s.goroutines)
			lo.p99, hi.p99 = min(lo.p99, s.p99), max(hi.p99, s.p99)
		}
		fmt.Fprintf(w, "| %s-%s | %.1f | %.1f | %d | %d | %.1f | %.1f |\n", win[0].at-o.interval, win[len(win)-1].at,
			lo.rssMiB, hi.rssMiB, lo.goroutines, hi.goroutines, ms(lo.p99), ms(hi.p99))
	}
}
