package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// snippetFunc is the function a block's statements become the body of.
const snippetFunc = "snippet"

// assemble returns the Go file a go block compiles as. path is the
// document's absolute path, written in //line directives so that the
// compiler's errors name the document's lines.
//
// A block whose first line of code is a package clause is a whole file,
// compiled as it is. Any other block names its prelude; see preludes.
func assemble(b block, path string) (string, error) {
	if isWholeFile(b.lines) {
		return lineDirective(path, b.line) + strings.Join(b.lines, "\n") + "\n", nil
	}
	if b.prelude == "" {
		return "", fmt.Errorf("the block is not a whole Go file (no package clause) and names no prelude: "+
			"write <!-- prelude: NAME --> above it (known: %s) or <!-- readme: skip (REASON) -->",
			strings.Join(preludeNames(), ", "))
	}
	prelude, ok := preludes[b.prelude]
	if !ok {
		return "", fmt.Errorf("unknown prelude %q (known: %s)", b.prelude, strings.Join(preludeNames(), ", "))
	}
	stmts, decls := splitDecls(b.lines)
	s := snippetFile{path: path, prelude: b.prelude, preludeSrc: prelude, line: b.line, stmts: stmts, declLine: b.line + len(stmts), decls: decls}
	src := s.text("return nil")
	// Use the variables the statements declare, and import the packages
	// the file uses. A file that does not parse is compiled as it is: the
	// compiler reports where, on the document's line.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		return src, nil
	}
	uses, ret := declaredVars(f)
	if ret != nil {
		// The block ends in its own return: use them on its line, before
		// it. The text before the tail is the same without "return nil".
		off := fset.File(ret.Pos()).Offset(ret.Pos())
		src = s.text("")
		src = src[:off] + useStmt(uses, "; ") + src[off:]
	} else {
		src = s.text(useStmt(uses, "\n\t") + "return nil")
	}
	return addImports(src, unresolved(f)), nil
}

// isWholeFile reports whether lines begin, after comments and blank lines,
// with a package clause.
func isWholeFile(lines []string) bool {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		return strings.HasPrefix(t, "package ")
	}
	return false
}

// declStartRE matches a line that starts a package-level declaration a
// function body cannot hold.
var declStartRE = regexp.MustCompile(`^(func|type)\s`)

// splitDecls splits a block's lines into statements and, from the first
// declaration at column 0 (with the comment lines right above it) on,
// package-level declarations.
func splitDecls(lines []string) (stmts, decls []string) {
	for i, l := range lines {
		if !declStartRE.MatchString(l) {
			continue
		}
		j := i
		for j > 0 && strings.HasPrefix(lines[j-1], "//") {
			j--
		}
		return lines[:j], lines[j:]
	}
	return lines, nil
}

// A snippetFile is the file a block becomes with its prelude.
type snippetFile struct {
	path       string // the document's absolute path
	prelude    string // the prelude's name
	preludeSrc string
	line       int // the document's line of stmts[0]
	stmts      []string
	declLine   int // the document's line of decls[0]
	decls      []string
}

// text returns the file's source, with tail after the block's statements.
func (s snippetFile) text(tail string) string {
	var w strings.Builder
	w.WriteString("package snippet\n\n")
	w.WriteString(lineDirective("prelude-"+s.prelude+".go", 1))
	w.WriteString(s.preludeSrc)
	w.WriteString("\n\n//line readmecheck-wrapper.go:1\nfunc " + snippetFunc + "() error {\n")
	w.WriteString(lineDirective(s.path, s.line))
	for _, l := range s.stmts {
		w.WriteString(l + "\n")
	}
	w.WriteString("//line readmecheck-wrapper.go:2\n")
	if tail != "" {
		w.WriteString("\t" + tail + "\n")
	}
	w.WriteString("}\n")
	if len(s.decls) > 0 {
		w.WriteString("\n" + lineDirective(s.path, s.declLine))
		for _, l := range s.decls {
			w.WriteString(l + "\n")
		}
	}
	return w.String()
}

// lineDirective makes the line after it line n of file for the compiler.
func lineDirective(file string, n int) string {
	return "//line " + file + ":" + strconv.Itoa(n) + "\n"
}

// funcBody returns the body of the snippet function of f.
func funcBody(f *ast.File) *ast.BlockStmt {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == snippetFunc && fd.Recv == nil {
			return fd.Body
		}
	}
	return &ast.BlockStmt{}
}

// declaredVars returns the variables the snippet function's top-level
// statements declare, in order, and the block's final return statement if
// it ends in one (the last statement of the function is the wrapper's
// "return nil").
func declaredVars(f *ast.File) (names []string, ret *ast.ReturnStmt) {
	body := funcBody(f)
	add := func(id *ast.Ident) {
		if id.Name != "_" && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	for _, st := range body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, sp := range gd.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						add(id)
					}
				}
			}
		}
	}
	if n := len(body.List); n >= 2 {
		ret, _ = body.List[n-2].(*ast.ReturnStmt)
	}
	return names, ret
}

// useStmt returns a statement using names ("_, _ = a, b"), followed by sep,
// or "" for no names.
func useStmt(names []string, sep string) string {
	if len(names) == 0 {
		return ""
	}
	blanks := strings.TrimSuffix(strings.Repeat("_, ", len(names)), ", ")
	return blanks + " = " + strings.Join(names, ", ") + sep
}

// unresolved returns the names f uses without declaring them, sorted.
func unresolved(f *ast.File) []string {
	var names []string
	for _, id := range f.Unresolved {
		if !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	slices.Sort(names)
	return names
}

// addImports adds to src, after its package clause, the imports of the
// known packages among names.
func addImports(src string, names []string) string {
	var imports []string
	for _, n := range names {
		if path, ok := knownImports[n]; ok {
			imports = append(imports, strconv.Quote(path))
		}
	}
	slices.Sort(imports)
	if len(imports) == 0 {
		return src
	}
	head, rest, _ := strings.Cut(src, "\n")
	return head + "\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n" + rest
}
