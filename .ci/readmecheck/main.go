// Command readmecheck checks that every code block of the repository's
// documents works as printed: it compiles each go block, and runs each sh
// block's commands, from a clone, offline but for the Go module proxy.
//
//	cd .ci/readmecheck && go run . -root ../.. README.md doc.go
//
// (.ci/readme.sh runs it so.) Markdown documents are read for their go and
// sh fences; a Go file for the tab-indented code blocks of its package
// comment. The document says how to take each fence in HTML comments above
// it:
//
//	<!-- prelude: NAME -->          a go block that is not a whole file
//	                                compiles after prelude NAME (preludes.go)
//	<!-- readme: skip (REASON) -->  neither compiled nor run
//
// Go blocks are compiled together, one package each, in a scratch module
// with the requires of this module's go.mod (the repository's modules
// replaced by their directories, gin and go-redis from the module proxy),
// by one go build and, when it passes, one go vet; an error names the
// document's line. See assemble for how a block and its prelude become a
// file.
//
// An sh block's commands run from the repository's root with bash, with the
// csmsg command built from ./cmd/csmsg first on PATH. Commands that fetch
// or install (go get, go install, @latest) are not run. The long-running
// ones (longRunning in commands.go: csmsg serve, csmsg emulate, cd examples
// && go run ./echobot) start first, in the block's order, each probed until
// it answers HTTP on its loopback port; then the block's other commands run
// in order and must exit 0; then the long-running ones are stopped, and
// must not have exited before.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	root := flag.String("root", "../..", "the repository's root `directory`; documents are named from it")
	doCompile := flag.Bool("compile", true, "compile the go blocks")
	doRun := flag.Bool("run", true, "run the sh blocks")
	timeout := flag.Duration("timeout", 3*time.Minute, "how long a command that is not long-running may take")
	keep := flag.Bool("keep", false, "keep the scratch module of the go blocks, and print its directory")
	startLimit := flag.Duration("start", 2*time.Minute, "how long a long-running command may take to answer on its port")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: readmecheck [flags] [document...]   (default README.md doc.go)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	docs := flag.Args()
	if len(docs) == 0 {
		docs = []string{"README.md", "doc.go"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(check(ctx, config{root: *root, docs: docs, compile: *doCompile, keep: *keep, run: *doRun, timeout: *timeout, startLimit: *startLimit}))
}

// config is what a check does.
type config struct {
	root         string
	docs         []string
	compile, run bool
	keep         bool // keep the scratch module
	timeout      time.Duration
	startLimit   time.Duration
}

// check checks the documents and returns the exit status: 0 if every block
// passed, 1 otherwise.
func check(ctx context.Context, cfg config) int {
	start := time.Now()
	checkerDir, err := os.Getwd()
	if err != nil {
		return fatal(err)
	}
	root, err := filepath.Abs(cfg.root)
	if err != nil {
		return fatal(err)
	}
	// Read the documents and their blocks.
	var blocks []block
	paths := make(map[string]string) // document name -> absolute path
	failures := 0
	for _, name := range cfg.docs {
		path := filepath.Join(root, name)
		paths[name] = path
		src, err := os.ReadFile(path)
		if err != nil {
			return fatal(err)
		}
		var bs []block
		if strings.HasSuffix(name, ".go") {
			bs, err = docBlocks(name, src)
		} else {
			bs, err = markdownBlocks(name, string(src))
		}
		for _, err := range unjoin(err) {
			fmt.Printf("FAIL %v\n", err)
			failures++
		}
		blocks = append(blocks, bs...)
	}
	var goBlocks, shBlocks []block
	for _, b := range blocks {
		switch {
		case b.skip != "":
			fmt.Printf("skip %s (%s block): %s\n", b.where(), b.lang, b.skip)
		case b.lang == "go":
			goBlocks = append(goBlocks, b)
		case b.lang == "sh":
			shBlocks = append(shBlocks, b)
		}
	}
	report := func(what string, msg string) {
		failures++
		fmt.Printf("FAIL %s\n  %s\n", what, strings.ReplaceAll(strings.TrimRight(relative(msg, root), "\n"), "\n", "\n  "))
	}

	// Compile the go blocks.
	if cfg.compile && len(goBlocks) > 0 {
		t := time.Now()
		dir, err := os.MkdirTemp("", "readmecheck-")
		if err != nil {
			return fatal(err)
		}
		if cfg.keep {
			fmt.Printf("scratch module: %s\n", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		failed, err := compileBlocks(ctx, checkerDir, dir, paths, goBlocks)
		for _, b := range goBlocks {
			if msg, ok := failed[b.where()]; ok {
				report(fmt.Sprintf("%s: go block%s", b.where(), preludeNote(b)), msg)
			}
		}
		if err != nil {
			report("compiling the go blocks", err.Error())
		}
		fmt.Printf("%s %d go blocks, %d failed (%.1fs)\n", status(len(failed)), len(goBlocks), len(failed), time.Since(t).Seconds())
	}

	// Run the sh blocks.
	if cfg.run && len(shBlocks) > 0 {
		t := time.Now()
		bin, err := os.MkdirTemp("", "readmecheck-bin-")
		if err != nil {
			return fatal(err)
		}
		defer os.RemoveAll(bin)
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "csmsg"), "./cmd/csmsg")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fatal(fmt.Errorf("go build ./cmd/csmsg: %v\n%s", err, out))
		}
		r := runner{root: root, path: bin + string(os.PathListSeparator) + os.Getenv("PATH"), timeout: cfg.timeout, startLimit: cfg.startLimit}
		ran := 0
		for _, b := range shBlocks {
			cmds, notRun := commands(b)
			for _, line := range slices.Sorted(maps.Keys(notRun)) {
				fmt.Printf("not run %s:%d: %s\n", b.file, line, notRun[line])
			}
			if len(cmds) == 0 {
				continue
			}
			bt := time.Now()
			errs := r.runBlock(ctx, b, cmds)
			for _, err := range errs {
				report(fmt.Sprintf("%s: sh block", b.where()), err.Error())
			}
			ran += len(cmds)
			fmt.Printf("%s %s: %d commands, %d failed (%.1fs)\n", status(len(errs)), b.where(), len(cmds), len(errs), time.Since(bt).Seconds())
		}
		fmt.Printf("ok   %d commands run (%.1fs)\n", ran, time.Since(t).Seconds())
	}

	if failures > 0 {
		fmt.Printf("FAIL readmecheck: %d failures (%.1fs)\n", failures, time.Since(start).Seconds())
		return 1
	}
	fmt.Printf("PASS readmecheck (%.1fs)\n", time.Since(start).Seconds())
	return 0
}

// status is the word that begins a line of the summary: "ok  " if no
// check failed, "FAIL" otherwise.
func status(failed int) string {
	if failed == 0 {
		return "ok  "
	}
	return "FAIL"
}

// unjoin returns the errors errors.Join joined into err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// preludeNote names a block's prelude for messages.
func preludeNote(b block) string {
	if b.prelude == "" {
		return ""
	}
	return " (prelude " + b.prelude + ")"
}

// relative writes the repository's paths in msg relative to its root.
func relative(msg, root string) string {
	return strings.ReplaceAll(msg, root+string(filepath.Separator), "")
}

// fatal reports an error that stops the check, and returns its status.
func fatal(err error) int {
	fmt.Fprintf(os.Stderr, "readmecheck: %v\n", err)
	return 2
}
