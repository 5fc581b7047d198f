package main

import (
	"reflect"
	"testing"
)

func TestAssemble(t *testing.T) {
	tests := []struct {
		name    string
		b       block
		want    string
		wantErr string
	}{
		{
			name: "a whole file",
			b:    block{file: "R.md", line: 7, lang: "go", lines: []string{"// A comment.", "package main", "", "func main() {}"}},
			want: "//line /r/R.md:7\n// A comment.\npackage main\n\nfunc main() {}\n",
		},
		{
			name: "statements ending in the block's return: its variables used on that line, imports added",
			b:    block{file: "R.md", line: 10, lang: "go", prelude: "parse", lines: []string{"msg, err := csmsg.Parse(body)", "var n int", "if err != nil {", "\treturn err", "}", "return fmt.Errorf(\"%v %d\", msg, n)"}},
			want: `package snippet

import (
	"fmt"
	"github.com/csmsg/csmsg"
)

//line prelude-parse.go:1
var body []byte

//line readmecheck-wrapper.go:1
func snippet() error {
//line /r/R.md:10
msg, err := csmsg.Parse(body)
var n int
if err != nil {
	return err
}
_, _, _ = msg, err, n; return fmt.Errorf("%v %d", msg, n)
//line readmecheck-wrapper.go:2
}
`,
		},
		{
			name: "statements then declarations: the variables used after the statements",
			b: block{file: "R.md", line: 3, lang: "go", prelude: "statements", lines: []string{
				"x, _ := f()", "",
				"// f returns 1.", "func f() (int, error) { return 1, nil }",
				"type t struct{}",
			}},
			want: `package snippet

//line prelude-statements.go:1


//line readmecheck-wrapper.go:1
func snippet() error {
//line /r/R.md:3
x, _ := f()

//line readmecheck-wrapper.go:2
	_ = x
	return nil
}

//line /r/R.md:5
// f returns 1.
func f() (int, error) { return 1, nil }
type t struct{}
`,
		},
		{
			name: "a block that does not parse is compiled as it is",
			b:    block{file: "R.md", line: 3, lang: "go", prelude: "statements", lines: []string{"x := 1 +"}},
			want: `package snippet

//line prelude-statements.go:1


//line readmecheck-wrapper.go:1
func snippet() error {
//line /r/R.md:3
x := 1 +
//line readmecheck-wrapper.go:2
	return nil
}
`,
		},
		{
			name:    "no prelude",
			b:       block{file: "R.md", line: 3, lang: "go", lines: []string{"x := 1"}},
			wantErr: "the block is not a whole Go file (no package clause) and names no prelude: write <!-- prelude: NAME --> above it (known: conversation, doc, gin, handler, handlertest, inbox, parse, redis, reply, settings, statements) or <!-- readme: skip (REASON) -->",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assemble(tt.b, "/r/"+tt.b.file)
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("error: %s\nwant: %s", gotErr, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("source:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestSplitDecls(t *testing.T) {
	tests := []struct {
		name              string
		lines             []string
		wantStmts, wantDs []string
	}{
		{"statements only", []string{"x := 1", "\tfunc() {}()"}, []string{"x := 1", "\tfunc() {}()"}, nil},
		{"declarations only", []string{"// doc", "func f() {}"}, []string{}, []string{"// doc", "func f() {}"}},
		{"both", []string{"f()", "", "// f is.", "// f does.", "func f() {}", "g()"}, []string{"f()", ""}, []string{"// f is.", "// f does.", "func f() {}", "g()"}},
		{"type", []string{"var v t", "type t int"}, []string{"var v t"}, []string{"type t int"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, decls := splitDecls(tt.lines)
			if !reflect.DeepEqual(stmts, tt.wantStmts) || !reflect.DeepEqual(decls, tt.wantDs) {
				t.Errorf("got %q, %q; want %q, %q", stmts, decls, tt.wantStmts, tt.wantDs)
			}
		})
	}
}

func TestAddImports(t *testing.T) {
	got := addImports("package p\n\nvar x = 1\n", []string{"http", "csmsg", "undefinedThing", "context"})
	want := "package p\n\nimport (\n\t\"context\"\n\t\"github.com/csmsg/csmsg\"\n\t\"net/http\"\n)\n\nvar x = 1\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
