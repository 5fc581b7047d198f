package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	for _, tool := range []string{"build", "vet"} {
		out, err := goTool(ctx, dir, tool, "./...")
		if err == nil {
			continue
		}
		perPkg, rest := splitByPackage(out)
		for _, p := range pkgs {
			if msg, ok := perPkg[scratchModule+"/"+p.dir]; ok {
				failed[p.b.where()] = "go " + tool + ": " + strings.TrimSpace(msg)
			}
		}
		if len(perPkg) == 0 || strings.TrimSpace(rest) != "" {
			return failed, fmt.Errorf("go %s in the scratch module %s: %v\n%s", tool, dir, err, out)
		}
		break // vet only what builds
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
	var out strings.Builder
	for _, line := range strings.Split(string(mod), "\n") {
		if m, ok := strings.CutPrefix(line, "module "); ok && strings.TrimSpace(m) != "" {
			line = "module " + scratchModule
		}
		if before, target, ok := strings.Cut(line, "=> "); ok && (strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../")) {
			line = before + "=> " + filepath.Join(checkerDir, strings.TrimSpace(target))
		}
		out.WriteString(line + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(out.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
}

// goTool runs "go tool args..." in dir and returns its combined output.
func goTool(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
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
