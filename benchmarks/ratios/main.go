// Command ratios reads `go test -bench` output on standard input and prints,
// for each benchmark, a table of median ns/op and allocs/op per body and
// implementation, with each implementation's time as a multiple of csmsg's.
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

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	// bench -> body -> impl -> samples, in first-seen order.
	samples := map[string]map[string]map[string]*sample{}
	var benches []string
	bodies := map[string][]string{}
	impls := map[string][]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		parts := strings.Split(name, "/")
		bench, body, impl := parts[0], "", ""
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			switch k {
			case "body":
				body = v
			case "impl", "mode":
				impl = v
			}
		}
		if body == "" || impl == "" {
			continue
		}
		if samples[bench] == nil {
			samples[bench] = map[string]map[string]*sample{}
			benches = append(benches, bench)
		}
		if samples[bench][body] == nil {
			samples[bench][body] = map[string]*sample{}
			bodies[bench] = append(bodies[bench], body)
		}
		s := samples[bench][body][impl]
		if s == nil {
			s = &sample{}
			samples[bench][body][impl] = s
			if !contains(impls[bench], impl) {
				impls[bench] = append(impls[bench], impl)
			}
		}
		for i := 2; i+1 < len(f); i++ {
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
	if err := sc.Err(); err != nil {
		return err
	}
	for _, bench := range benches {
		base := impls[bench][0]
		if base == "csmsg" {
			fmt.Fprintf(out, "\n%s (medians; × = time as a multiple of csmsg's)\n\n", bench)
		} else {
			fmt.Fprintf(out, "\n%s (medians)\n\n", bench)
		}
		header := "| body |"
		rule := "|---|"
		for _, impl := range impls[bench] {
			header += " " + impl + " ns/op | allocs |"
			rule += "---:|---:|"
			if impl != base && base == "csmsg" {
				header += " ×" + " |"
				rule += "---:|"
			}
		}
		fmt.Fprintln(out, header)
		fmt.Fprintln(out, rule)
		for _, body := range bodies[bench] {
			row := "| " + body + " |"
			baseNS := median(samples[bench][body][base].nsOrNil())
			for _, impl := range impls[bench] {
				s := samples[bench][body][impl]
				if s == nil {
					row += " | |"
					if impl != base && base == "csmsg" {
						row += " |"
					}
					continue
				}
				ns := median(s.ns)
				row += fmt.Sprintf(" %.0f | %.0f |", ns, median(s.allocs))
				if impl != base && base == "csmsg" {
					row += fmt.Sprintf(" %.1f× |", ns/baseNS)
				}
			}
			fmt.Fprintln(out, row)
		}
	}
	return nil
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
