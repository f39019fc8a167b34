package nn_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestREADMEQuickStart checks that the README's library quick start is
// Example_train as it is compiled and run here: the first Go block after the
// "## Library quick start" heading must be the example file's import
// declaration, a blank line, and the function's body (one tab of indentation
// removed), so the README cannot drift from code that runs.
func TestREADMEQuickStart(t *testing.T) {
	const exampleFile = "example_train_test.go"
	src, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, exampleFile, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := func(n ast.Node) string {
		return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
	}
	var imports, body string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				imports = text(d)
			}
		case *ast.FuncDecl:
			if d.Name.Name == "Example_train" {
				b := text(d.Body)
				b = strings.TrimSuffix(strings.TrimPrefix(b, "{\n"), "}")
				body = strings.ReplaceAll("\n"+b, "\n\t", "\n")[1:]
			}
		}
	}
	if imports == "" || body == "" {
		t.Fatalf("%s: no import declaration or no Example_train", exampleFile)
	}
	want := imports + "\n\n" + body

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Library quick start\n")
	if !ok {
		t.Fatal(`README.md: no "## Library quick start" section`)
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	if ok {
		block, _, ok = strings.Cut(block, "\n```\n")
	}
	if !ok {
		t.Fatal("README.md: no ```go block in the library quick start")
	}
	block += "\n"
	if block == want {
		return
	}
	got, exp := strings.Split(block, "\n"), strings.Split(want, "\n")
	for i := range max(len(got), len(exp)) {
		var g, e string
		if i < len(got) {
			g = got[i]
		}
		if i < len(exp) {
			e = exp[i]
		}
		if g != e {
			t.Fatalf("README.md's quick start differs from Example_train in %s at line %d of the block:\nREADME:  %q\nexample: %q", exampleFile, i+1, g, e)
		}
	}
}
