// Command check-examples checks that every Example function of the root
// module's packages compiles when copied into a program of its own: it
// uses only the package's public API and the standard library, never a
// helper, variable or type declared in a test file (pkg.go.dev does not
// show those, so a reader copying the example could not build it).
//
//	go run ./scripts/check-examples
//
// It reads the _test.go files of each directory holding a go.mod-less
// package under the current directory (nested modules are skipped),
// collects the names declared at the top level of the external test
// package (package x_test) other than Example, Test, Benchmark and Fuzz
// functions, and reports each Example that refers to one of them, or that
// lives in the internal test package (where it sees unexported names).
//
// Then it does what a reader would: it copies every Example function, with
// only the imports it uses, into a program of its own in a scratch module
// outside this one (requiring this module through a replace directive),
// and runs go vet on it. A name the static check missed fails there.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	goprinter "go/printer"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	var problems []string
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != "." {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
		}
		n, p, err := checkDir(path)
		checked += n
		problems = append(problems, p...)
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "check-examples:", err)
		os.Exit(2)
	}
	sort.Strings(problems)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "check-examples: %d of %d examples would not compile when copied\n", len(problems), checked)
		os.Exit(1)
	}
	if err := vetCopies(); err != nil {
		fmt.Fprintln(os.Stderr, "check-examples:", err)
		os.Exit(1)
	}
	fmt.Printf("check-examples: %d examples use only public API and vet clean when copied into a program of their own\n", checked)
}

// vetCopies copies each package's Example functions into a main package
// of a scratch module outside this one, and runs go vet over it.
func vetCopies() error {
	root, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	modPath, goLine := "", ""
	for _, l := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(l, "module "); ok {
			modPath = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(l, "go "); ok {
			goLine = strings.TrimSpace(rest)
		}
	}
	scratch, err := os.MkdirTemp("", "check-examples-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	n := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != "." {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		src, err := examplesProgram(path)
		if err != nil || src == nil {
			return err
		}
		out := filepath.Join(scratch, "p"+strconv.Itoa(n))
		n++
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, "main.go"), src, 0o644)
	})
	if err != nil || n == 0 {
		return err
	}
	gomod := fmt.Sprintf("module scratch\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n", goLine, modPath, modPath, root)
	if err := os.WriteFile(filepath.Join(scratch, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(scratch, "go.sum"), sum, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = scratch
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go vet of the examples copied into programs of their own failed: %v\n%s", err, out)
	}
	return nil
}

// examplesProgram returns a main package holding the Example functions of
// the external test package in dir, with the imports they use; nil when
// there are none.
func examplesProgram(dir string) ([]byte, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	fset := token.NewFileSet()
	var funcs []*ast.FuncDecl
	imports := map[string]*ast.ImportSpec{} // by the name it is used under
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(af.Name.Name, "_test") {
			continue
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = im
		}
		for _, decl := range af.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Example") {
				fd.Doc = nil
				funcs = append(funcs, fd)
			}
		}
	}
	if len(funcs) == 0 {
		return nil, nil
	}
	used := map[string]bool{}
	for _, fd := range funcs {
		ast.Inspect(fd, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok {
					used[id.Name] = true
				}
			}
			return true
		})
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	var names []string
	for name := range imports {
		if used[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		im := imports[name]
		if im.Name != nil {
			b.WriteString("\t" + im.Name.Name + " " + im.Path.Value + "\n")
		} else {
			b.WriteString("\t" + im.Path.Value + "\n")
		}
	}
	b.WriteString(")\n\nfunc main() {}\n")
	for _, fd := range funcs {
		var sb strings.Builder
		if err := printer(&sb, fset, fd); err != nil {
			return nil, err
		}
		b.WriteString("\n" + sb.String() + "\n")
	}
	return []byte(b.String()), nil
}

// checkDir checks the examples of the package in dir.
func checkDir(dir string) (int, []string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if len(files) == 0 {
		return 0, nil, nil
	}
	fset := token.NewFileSet()
	type example struct {
		fn   *ast.FuncDecl
		file string
		pkg  string
	}
	var examples []example
	testOnly := map[string]bool{} // names declared at the top level of x_test test files
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return 0, nil, err
		}
		external := strings.HasSuffix(af.Name.Name, "_test")
		for _, decl := range af.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				name := d.Name.Name
				if d.Recv == nil && strings.HasPrefix(name, "Example") {
					examples = append(examples, example{d, f, af.Name.Name})
					continue
				}
				if external && d.Recv == nil && !strings.HasPrefix(name, "Test") && !strings.HasPrefix(name, "Benchmark") && !strings.HasPrefix(name, "Fuzz") {
					testOnly[name] = true
				}
			case *ast.GenDecl:
				if !external || d.Tok == token.IMPORT {
					continue
				}
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							testOnly[n.Name] = true
						}
					case *ast.TypeSpec:
						testOnly[s.Name.Name] = true
					}
				}
			}
		}
	}
	var problems []string
	for _, ex := range examples {
		pos := fset.Position(ex.fn.Pos())
		where := fmt.Sprintf("%s:%d: %s", pos.Filename, pos.Line, ex.fn.Name.Name)
		if !strings.HasSuffix(ex.pkg, "_test") {
			problems = append(problems, where+": in package "+ex.pkg+", not "+ex.pkg+"_test: it may use unexported names")
			continue
		}
		used := map[string]bool{}
		ast.Inspect(ex.fn.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				ast.Inspect(x.X, func(n ast.Node) bool { // pkg.Name: only the left side can be ours
					if id, ok := n.(*ast.Ident); ok && testOnly[id.Name] {
						used[id.Name] = true
					}
					return true
				})
				return false
			case *ast.Ident:
				if testOnly[x.Name] {
					used[x.Name] = true
				}
			}
			return true
		})
		// A name the example declares itself (a local variable) is not a
		// test helper: drop names assigned or declared in the body.
		ast.Inspect(ex.fn.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				if x.Tok == token.DEFINE {
					for _, l := range x.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							delete(used, id.Name)
						}
					}
				}
			case *ast.ValueSpec:
				for _, id := range x.Names {
					delete(used, id.Name)
				}
			case *ast.TypeSpec:
				delete(used, x.Name.Name)
			}
			return true
		})
		if len(used) > 0 {
			var names []string
			for n := range used {
				names = append(names, n)
			}
			sort.Strings(names)
			problems = append(problems, where+": uses "+strings.Join(names, ", ")+", declared only in test files")
		}
	}
	return len(examples), problems, nil
}

func printer(w *strings.Builder, fset *token.FileSet, n ast.Node) error {
	return (&goprinter.Config{Mode: goprinter.UseSpaces | goprinter.TabIndent, Tabwidth: 8}).Fprint(w, fset, n)
}
