// Command ratios reads `go test -bench` output on standard input and prints,
// for each benchmark, a table of median ns/op and allocs/op per body and
// implementation, with each implementation's time as a multiple of the
// first's when that is csmsg or the floor (BenchmarkPush). Where csmsg and
// silenceper are both present and csmsg is not first, a last column gives
// silenceper's time as a multiple of csmsg's; where csmsg-redis and
// csmsg-nodedup are, one more gives the Redis store's added µs per push.
//
// Sub-benchmarks are named Benchmark<Name>/body=<body>/impl=<impl> (or
// mode=<mode> for the receiver's).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

type sample struct{ ns, allocs []float64 }

// results are the samples of one run: bench -> body -> impl, with each
// level's names in first-seen order.
type results struct {
	samples map[string]map[string]map[string]*sample
	benches []string
	bodies  map[string][]string
	impls   map[string][]string
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	res, err := read(in)
	if err != nil {
		return err
	}
	for _, bench := range res.benches {
		res.print(out, bench)
	}
	return nil
}

// read collects the samples of `go test -bench` output.
func read(in io.Reader) (*results, error) {
	res := &results{
		samples: map[string]map[string]map[string]*sample{},
		bodies:  map[string][]string{},
		impls:   map[string][]string{},
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		bench, body, impl := parseName(f[0])
		if body == "" || impl == "" {
			continue
		}
		res.sample(bench, body, impl).add(f[2:])
	}
	return res, sc.Err()
}

// parseName splits Benchmark<Name>/body=<body>/impl=<impl>-<procs>.
func parseName(name string) (bench, body, impl string) {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		name = name[:i] // the GOMAXPROCS suffix
	}
	parts := strings.Split(name, "/")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "body":
			body = v
		case "impl", "mode":
			impl = v
		}
	}
	return parts[0], body, impl
}

// sample returns the samples of one body and impl, made on first sight.
func (r *results) sample(bench, body, impl string) *sample {
	if r.samples[bench] == nil {
		r.samples[bench] = map[string]map[string]*sample{}
		r.benches = append(r.benches, bench)
	}
	if r.samples[bench][body] == nil {
		r.samples[bench][body] = map[string]*sample{}
		r.bodies[bench] = append(r.bodies[bench], body)
	}
	s := r.samples[bench][body][impl]
	if s == nil {
		s = &sample{}
		r.samples[bench][body][impl] = s
		if !contains(r.impls[bench], impl) {
			r.impls[bench] = append(r.impls[bench], impl)
		}
	}
	return s
}

// add records the ns/op and allocs/op of one result line's value fields.
func (s *sample) add(f []string) {
	for i := 0; i+1 < len(f); i++ {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		switch f[i+1] {
		case "ns/op":
			s.ns = append(s.ns, v)
		case "allocs/op":
			s.allocs = append(s.allocs, v)
		}
	}
}

// print writes the table of one benchmark: medians, and when csmsg or
// the floor is the first impl, each other impl's time as a multiple of its.
func (r *results) print(out io.Writer, bench string) {
	impls := r.impls[bench]
	base := impls[0]
	ratios := base == "csmsg" || base == "floor"
	speedup := base != "csmsg" && contains(impls, "csmsg") && contains(impls, "silenceper")
	redisCost := contains(impls, "csmsg-redis") && contains(impls, "csmsg-nodedup")
	if ratios {
		fmt.Fprintf(out, "\n%s (medians; × = time as a multiple of %s's)\n\n", bench, base)
	} else {
		fmt.Fprintf(out, "\n%s (medians)\n\n", bench)
	}
	format := "%.1f×"
	if base == "floor" { // the targets are near 1.5×
		format = "%.2f×"
	}
	header, rule := "| body |", "|---|"
	for _, impl := range impls {
		header += " " + impl + " ns/op | allocs |"
		rule += "---:|---:|"
		if impl != base && ratios {
			header += " × |"
			rule += "---:|"
		}
	}
	if speedup {
		header += " silenceper ÷ csmsg |"
		rule += "---:|"
	}
	if redisCost {
		header += " Redis adds µs |"
		rule += "---:|"
	}
	fmt.Fprintln(out, header)
	fmt.Fprintln(out, rule)
	for _, body := range r.bodies[bench] {
		row := "| " + body + " |"
		samples := r.samples[bench][body]
		baseNS := median(samples[base].nsOrNil())
		for _, impl := range impls {
			s := samples[impl]
			switch {
			case s == nil:
				row += " | |"
				if impl != base && ratios {
					row += " |"
				}
			default:
				ns := median(s.ns)
				row += fmt.Sprintf(" %.0f | %.0f |", ns, median(s.allocs))
				if impl != base && ratios {
					row += fmt.Sprintf(" "+format+" |", ns/baseNS)
				}
			}
		}
		if speedup {
			row += " " + quotient(samples["silenceper"], samples["csmsg"], "%.2f×") + " |"
		}
		if redisCost {
			row += " " + difference(samples["csmsg-redis"], samples["csmsg-nodedup"]) + " |"
		}
		fmt.Fprintln(out, row)
	}
}

// quotient formats the ratio of a's median time to b's, or "" if either
// is missing.
func quotient(a, b *sample, format string) string {
	if a == nil || b == nil || len(a.ns) == 0 || len(b.ns) == 0 {
		return ""
	}
	return fmt.Sprintf(format, median(a.ns)/median(b.ns))
}

// difference formats a's median time less b's, in µs, or "" if either is
// missing.
func difference(a, b *sample) string {
	if a == nil || b == nil || len(a.ns) == 0 || len(b.ns) == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", (median(a.ns)-median(b.ns))/1000)
}

func (s *sample) nsOrNil() []float64 {
	if s == nil {
		return nil
	}
	return s.ns
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}
