package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionCmd implements "csmsg version": the module's version, as the Go
// toolchain stamped it in the binary, and the Go version it was built
// with.
func versionCmd(e *env, args []string) error {
	fs := newFlagSet(e, "version", "version\n\nPrints the version of csmsg and of the Go toolchain that built it.", "  csmsg version")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError("version takes no arguments")
	}
	version := "(unknown)"
	if info, ok := debug.ReadBuildInfo(); ok {
		version = moduleVersion(info)
	}
	fmt.Fprintf(e.stdout, "csmsg %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// moduleVersion returns the version of the csmsg module in info: the
// main module's when csmsg was built as itself ("v0.3.0", or "(devel)"
// in a checkout, with the VCS revision when the toolchain stamped one).
func moduleVersion(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	if v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return v + " " + rev + modified
	}
	return v
}
