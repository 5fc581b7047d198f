package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCompileBlocks(t *testing.T) {
	checkerDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	doc := "<!-- prelude: parse -->\n" + // line 1
		"```go\n" +
		"msg, err := csmsg.Parse(body)\n" + // 3: compiles
		"```\n" +
		"<!-- prelude: parse -->\n" +
		"```go\n" +
		"log.Printf(\"%d\", \"x\")\n" + // 7: vet fails
		"```\n" +
		"<!-- prelude: reply -->\n" +
		"```go\n" +
		"err := client.SendText(ctx, msg.FromUserName, \"hi\")\n" + // 11: does not build
		"```\n" +
		"```go\n" +
		"x := 1\n" + // 14: no prelude
		"```\n" +
		"<!-- prelude: statements -->\n" +
		"```go\n" +
		"x := 1 +\n" + // 18: a syntax error at its end
		"```\n"
	blocks, err := markdownBlocks("R.md", doc)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := compileBlocks(context.Background(), checkerDir, t.TempDir(), map[string]string{"R.md": "/r/R.md"}, blocks)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"R.md:7":  `go vet: /r/R.md:7: log.Printf format %d has arg "x" of wrong type string (printf)`,
		"R.md:11": "go build: /r/R.md:11: undefined: client\n/r/R.md:11: msg.FromUserName undefined (type csmsg.Message has no field or method FromUserName)",
		"R.md:14": "the block is not a whole Go file (no package clause) and names no prelude: write <!-- prelude: NAME --> above it (known: conversation, doc, gin, handler, handlertest, inbox, parse, redis, reply, settings, statements) or <!-- readme: skip (REASON) -->",
		"R.md:18": "go build: /r/R.md:18: (after the block) syntax error: unexpected keyword return, expected expression",
	}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed:\n%#v\nwant:\n%#v", failed, want)
	}
}

func TestWriteScratchModule(t *testing.T) {
	checker, dir := t.TempDir(), t.TempDir()
	mod := "module readmecheck\n\ngo 1.25.0\n\nrequire github.com/csmsg/csmsg v0.2.0\n\nreplace github.com/csmsg/csmsg => ../..\n\nreplace (\n\texample.com/a => ./a\n\texample.com/b => example.com/c v1.0.0\n)\n"
	if err := os.WriteFile(filepath.Join(checker, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checker, "go.sum"), []byte("sums\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeScratchModule(checker, dir); err != nil {
		t.Fatal(err)
	}
	gotMod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	gotSum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	wantMod := "module readmescratch\n\ngo 1.25.0\n\nrequire github.com/csmsg/csmsg v0.2.0\n\nreplace github.com/csmsg/csmsg => " + filepath.Dir(filepath.Dir(checker)) +
		"\n\nreplace (\n\texample.com/a => " + filepath.Join(checker, "a") + "\n\texample.com/b => example.com/c v1.0.0\n)\n"
	if string(gotMod) != wantMod || string(gotSum) != "sums\n" {
		t.Errorf("go.mod:\n%s\ngo.sum:\n%s\nwant:\n%s", gotMod, gotSum, wantMod)
	}
}
