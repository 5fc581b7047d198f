package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// scratchModule is the module path of the scratch module, whose packages
// are the go blocks.
const scratchModule = "readmescratch"

// A compiled is a go block as a package of the scratch module.
type compiled struct {
	b   block
	dir string // the package's directory in the scratch module
}

// compileBlocks writes each go block as a package of a scratch module in
// dir, with the requires of the checker's module (checkerDir), and compiles
// them all with one go build and then one go vet. It returns the blocks
// that failed, each with its error, and an error for a failure that is no
// block's.
func compileBlocks(ctx context.Context, checkerDir, dir string, docs map[string]string, blocks []block) (map[string]string, error) {
	if err := writeScratchModule(checkerDir, dir); err != nil {
		return nil, err
	}
	failed := make(map[string]string) // block.where() -> error
	var pkgs []compiled
	for i, b := range blocks {
		src, err := assemble(b, docs[b.file])
		if err != nil {
			failed[b.where()] = err.Error()
			continue
		}
		pkg := fmt.Sprintf("b%02d_%s_%d", i, identifier(b.file), b.line)
		pdir := filepath.Join(dir, pkg)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(pdir, "block.go"), []byte(src), 0o644); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, compiled{b: b, dir: pkg})
	}
	if len(pkgs) == 0 {
		return failed, nil
	}
	// Build them all, then vet those that built.
	for _, tool := range []string{"build", "vet"} {
		args := []string{tool}
		if tool == "vet" {
			args = append(args, "-json") // diagnostics by package, on stdout
		}
		n := len(args)
		for _, p := range pkgs {
			if _, ok := failed[p.b.where()]; !ok {
				args = append(args, "./"+p.dir)
			}
		}
		if len(args) == n {
			break
		}
		stdout, stderr, err := goTool(ctx, dir, args...)
		perPkg, rest := splitByPackage(stderr)
		if tool == "vet" {
			diags, derr := vetDiagnostics(stdout)
			if derr != nil {
				return failed, fmt.Errorf("go vet -json in the scratch module %s: %v\n%s", dir, derr, stdout)
			}
			for pkg, d := range diags {
				perPkg[pkg] += d
			}
		}
		for _, p := range pkgs {
			if msg, ok := perPkg[scratchModule+"/"+p.dir]; ok {
				failed[p.b.where()] = "go " + tool + ": " + wrapperLines(strings.TrimSpace(msg), p.b, docs[p.b.file])
			}
		}
		if err != nil && (len(perPkg) == 0 || strings.TrimSpace(rest) != "") {
			return failed, fmt.Errorf("go %s in the scratch module %s: %v\n%s", tool, dir, err, stderr)
		}
	}
	return failed, nil
}

// writeScratchModule writes dir/go.mod and dir/go.sum: those of the
// checker's module, with its relative replace directives made absolute.
func writeScratchModule(checkerDir, dir string) error {
	mod, err := os.ReadFile(filepath.Join(checkerDir, "go.mod"))
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(checkerDir, "go.sum"))
	if err != nil {
		return err
	}
	lines := strings.Split(string(mod), "\n")
	for i, line := range lines {
		if m, ok := strings.CutPrefix(line, "module "); ok && strings.TrimSpace(m) != "" {
			lines[i] = "module " + scratchModule
		}
		if before, target, ok := strings.Cut(line, "=> "); ok && (strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../")) {
			lines[i] = before + "=> " + filepath.Join(checkerDir, strings.TrimSpace(target))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
}

// wrapperLines writes the positions of the function wrapped around a
// block's statements (see snippetFile.text) as the block's first and last
// lines: a syntax error at the end of a block shows there.
func wrapperLines(msg string, b block, path string) string {
	msg = strings.ReplaceAll(msg, "readmecheck-wrapper.go:1:", fmt.Sprintf("%s:%d: (before the block)", path, b.line))
	return strings.ReplaceAll(msg, "readmecheck-wrapper.go:2:", fmt.Sprintf("%s:%d: (after the block)", path, b.line+len(b.lines)-1))
}

// goTool runs "go args..." in dir and returns its output.
func goTool(ctx context.Context, dir string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// vetDiagnostics reads the output of go vet -json: for each package, its
// diagnostics as lines "position: message".
func vetDiagnostics(out string) (map[string]string, error) {
	diags := make(map[string]string)
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var v map[string]map[string]json.RawMessage // package -> analyzer -> diagnostics or error
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		for pkg, analyzers := range v {
			for _, name := range slices.Sorted(maps.Keys(analyzers)) {
				var ds []struct{ Posn, Message string }
				if err := json.Unmarshal(analyzers[name], &ds); err != nil {
					var e struct{ Error string }
					if err := json.Unmarshal(analyzers[name], &e); err != nil {
						return nil, err
					}
					diags[pkg] += fmt.Sprintf("%s: %s\n", name, e.Error)
					continue
				}
				for _, d := range ds {
					diags[pkg] += fmt.Sprintf("%s: %s (%s)\n", d.Posn, d.Message, name)
				}
			}
		}
	}
	return diags, nil
}

// pkgHeaderRE matches the line the go command writes above a package's
// errors.
var pkgHeaderRE = regexp.MustCompile(`^# (\S+)`)

// splitByPackage splits the go command's output into each package's errors
// and the lines under no package.
func splitByPackage(out string) (map[string]string, string) {
	perPkg := make(map[string]string)
	var rest strings.Builder
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := pkgHeaderRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if cur == "" {
			rest.WriteString(line + "\n")
			continue
		}
		perPkg[cur] += line + "\n"
	}
	return perPkg, rest.String()
}

// identifier returns s with every byte that is not a letter or a digit
// replaced by '_'.
func identifier(s string) string {
	return string(bytes.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, []byte(filepath.Base(s))))
}
