package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
)

// A block is one code block of a document: a Markdown fence, or a
// tab-indented block of a Go package comment.
type block struct {
	file    string   // the document, as named on the command line
	line    int      // the line of the block's first line of code
	lang    string   // "go" or "sh" (fence info strings are normalized)
	lines   []string // the code, without the fence or the comment's "//\t"
	prelude string   // from <!-- prelude: NAME -->; "" for none
	skip    string   // from <!-- readme: skip (REASON) -->: the reason
}

// where names the block for messages: "README.md:149".
func (b block) where() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// langs maps fence info strings to the checker's languages; fences of any
// other language (json, xml, text, console with its output, none) are not
// checked.
var langs = map[string]string{
	"go": "go", "golang": "go",
	"sh": "sh", "bash": "sh", "shell": "sh",
}

var (
	fenceRE     = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^`\\s]*)")
	directiveRE = regexp.MustCompile(`^\s*<!--\s*(prelude|readme)\s*:\s*(.*?)\s*-->\s*$`)
	skipRE      = regexp.MustCompile(`^skip\s*\((.+)\)$`)
)

// markdownBlocks returns the go and sh fences of a Markdown document with
// the directives written in HTML comments on the lines above each fence
// (blank lines may come between):
//
//	<!-- prelude: NAME -->               compile the go block after prelude NAME
//	<!-- readme: skip (REASON) -->       do not compile or run the block
//
// A directive that is misspelled, or that does not stand above a block it
// applies to, is an error, so that a typo cannot silently skip a check.
func markdownBlocks(name string, text string) ([]block, error) {
	var (
		blocks  []block
		errs    []error
		pending []directive // directives since the last non-blank line that was not one
	)
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := directiveRE.FindStringSubmatch(line); m != nil {
			pending = append(pending, directive{line: i + 1, kind: m[1], arg: m[2]})
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := fenceRE.FindStringSubmatch(line)
		if m == nil {
			errs = append(errs, strayDirectives(name, pending)...)
			pending = nil
			continue
		}
		// A fence: find its end, a line of at least as many of the same
		// character and nothing else.
		marker := m[1]
		start := i + 1
		end := start
		for end < len(lines) && !isClosingFence(lines[end], marker) {
			end++
		}
		b := block{file: name, line: start + 1, lang: langs[strings.ToLower(m[2])], lines: lines[start:min(end, len(lines))]}
		i = end
		for _, d := range pending {
			if err := d.apply(&b); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %w", name, d.line, err))
			}
		}
		pending = nil
		if b.lang != "" {
			blocks = append(blocks, b)
		}
	}
	errs = append(errs, strayDirectives(name, pending)...)
	return blocks, errors.Join(errs...)
}

// isClosingFence reports whether line closes a fence opened by marker.
func isClosingFence(line, marker string) bool {
	t := strings.TrimRight(strings.TrimLeft(line, " "), " \t")
	if len(line)-len(strings.TrimLeft(line, " ")) > 3 || len(t) < len(marker) {
		return false
	}
	return strings.Trim(t, marker[:1]) == ""
}

// A directive is one HTML comment addressed to the checker.
type directive struct {
	line int
	kind string // "prelude" or "readme"
	arg  string
}

// apply records d on the block it stands above.
func (d directive) apply(b *block) error {
	if b.lang == "" {
		return fmt.Errorf("<!-- %s: %s --> stands above a block that is neither go nor sh", d.kind, d.arg)
	}
	switch d.kind {
	case "prelude":
		if b.lang != "go" {
			return fmt.Errorf("<!-- prelude: %s --> stands above a %s block; preludes are for go blocks", d.arg, b.lang)
		}
		if _, ok := preludes[d.arg]; !ok {
			return fmt.Errorf("unknown prelude %q (known: %s)", d.arg, strings.Join(preludeNames(), ", "))
		}
		b.prelude = d.arg
		return nil
	default: // "readme"
		m := skipRE.FindStringSubmatch(d.arg)
		if m == nil {
			return fmt.Errorf("<!-- readme: %s --> is not a directive; write <!-- readme: skip (REASON) -->", d.arg)
		}
		b.skip = strings.TrimSpace(m[1])
		return nil
	}
}

// strayDirectives reports directives that no block follows.
func strayDirectives(name string, ds []directive) []error {
	var errs []error
	for _, d := range ds {
		errs = append(errs, fmt.Errorf("%s:%d: <!-- %s: %s --> is not followed by a code block", name, d.line, d.kind, d.arg))
	}
	return errs
}

// docBlocks returns the code blocks of a Go file's package comment: the
// runs of lines indented with a tab ("//\t..."), which gofmt keeps for code,
// an empty comment line between two of them belonging to the block. Every
// such block is Go, compiled after the prelude docPrelude.
func docBlocks(name string, src []byte) ([]block, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return nil, err
	}
	if f.Doc == nil {
		return nil, nil
	}
	return commentBlocks(name, fset, f.Doc), nil
}

// commentBlocks returns the tab-indented blocks of a comment group.
func commentBlocks(name string, fset *token.FileSet, doc *ast.CommentGroup) []block {
	var (
		blocks []block
		cur    *block
		blank  int // empty comment lines seen since cur's last line
	)
	for _, c := range doc.List {
		text, ok := strings.CutPrefix(c.Text, "//")
		if !ok {
			continue // a /* */ comment: not a gofmt code block
		}
		switch {
		case strings.HasPrefix(text, "\t"):
			if cur == nil {
				blocks = append(blocks, block{file: name, line: fset.Position(c.Slash).Line, lang: "go", prelude: docPrelude})
				cur = &blocks[len(blocks)-1]
			}
			for ; blank > 0; blank-- {
				cur.lines = append(cur.lines, "")
			}
			cur.lines = append(cur.lines, text[1:])
		case strings.TrimSpace(text) == "" && cur != nil:
			blank++
		default:
			cur, blank = nil, 0
		}
	}
	return blocks
}
