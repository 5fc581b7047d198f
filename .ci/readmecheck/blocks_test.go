package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestMarkdownBlocks(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []block
		wantErr string
	}{
		{
			name: "fences of go and sh, others ignored",
			doc:  "# T\n\n```go\nx := 1\n```\n\n```json\n{}\n```\n\n```sh\necho hi\n```\n\n```\nplain\n```\n",
			want: []block{
				{file: "R.md", line: 4, lang: "go", lines: []string{"x := 1"}},
				{file: "R.md", line: 12, lang: "sh", lines: []string{"echo hi"}},
			},
		},
		{
			name: "directives above a fence, blank lines between",
			doc:  "<!-- prelude: parse -->\n\n```go\nmsg, err := csmsg.Parse(body)\n```\n<!-- readme: skip (needs a real WeChat) -->\n```bash\ncurl https://api.weixin.qq.com/\n```\n",
			want: []block{
				{file: "R.md", line: 4, lang: "go", lines: []string{"msg, err := csmsg.Parse(body)"}, prelude: "parse"},
				{file: "R.md", line: 8, lang: "sh", lines: []string{"curl https://api.weixin.qq.com/"}, skip: "needs a real WeChat"},
			},
		},
		{
			name: "a longer fence holds a shorter one; an unclosed fence runs to the end",
			doc:  "````go\n```\n````\n~~~sh\nls\n",
			want: []block{
				{file: "R.md", line: 2, lang: "go", lines: []string{"```"}},
				{file: "R.md", line: 5, lang: "sh", lines: []string{"ls", ""}},
			},
		},
		{
			name: "other HTML comments are not directives",
			doc:  "<!-- a note -->\n```go\nx := 1\n```\n",
			want: []block{{file: "R.md", line: 3, lang: "go", lines: []string{"x := 1"}}},
		},
		{
			name:    "a directive with text between it and the fence",
			doc:     "<!-- prelude: parse -->\nSome text.\n```go\nx := 1\n```\n",
			want:    []block{{file: "R.md", line: 4, lang: "go", lines: []string{"x := 1"}}},
			wantErr: "R.md:1: <!-- prelude: parse --> is not followed by a code block",
		},
		{
			name: "misspelled, unknown, misplaced",
			doc:  "<!-- readme: skp (typo) -->\n```sh\nls\n```\n<!-- prelude: nope -->\n```go\nx\n```\n<!-- prelude: parse -->\n```sh\nls\n```\n<!-- readme: skip (x) -->\n```json\n{}\n```\n<!-- readme: skip () -->\n",
			want: []block{
				{file: "R.md", line: 3, lang: "sh", lines: []string{"ls"}},
				{file: "R.md", line: 7, lang: "go", lines: []string{"x"}},
				{file: "R.md", line: 11, lang: "sh", lines: []string{"ls"}},
			},
			wantErr: "R.md:1: <!-- readme: skp (typo) --> is not a directive; write <!-- readme: skip (REASON) -->\n" +
				"R.md:5: unknown prelude \"nope\" (known: " + strings.Join(preludeNames(), ", ") + ")\n" +
				"R.md:9: <!-- prelude: parse --> stands above a sh block; preludes are for go blocks\n" +
				"R.md:13: <!-- readme: skip (x) --> stands above a block that is neither go nor sh\n" +
				"R.md:17: <!-- readme: skip () --> is not followed by a code block",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := markdownBlocks("R.md", tt.doc)
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("error:\n%s\nwant:\n%s", gotErr, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("blocks:\n%#v\nwant:\n%#v", got, tt.want)
			}
		})
	}
}

func TestDocBlocks(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []block
	}{
		{
			name: "tab-indented runs, with the empty lines inside them",
			src:  "// Package p does.\n//\n//\tx := 1\n//\n//\tif x > 0 {\n//\t\tx++\n//\t}\n//\n// Text.\n//\n//   - a list item\n//\n//\ty := 2\npackage p\n",
			want: []block{
				{file: "p.go", line: 3, lang: "go", lines: []string{"x := 1", "", "if x > 0 {", "\tx++", "}"}, prelude: docPrelude},
				{file: "p.go", line: 13, lang: "go", lines: []string{"y := 2"}, prelude: docPrelude},
			},
		},
		{
			name: "no package comment",
			src:  "package p\n\n// Not the package's.\n//\n//\tx := 1\nfunc f() {}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := docBlocks("p.go", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("blocks:\n%#v\nwant:\n%#v", got, tt.want)
			}
		})
	}
}

// errString returns err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
