package importrules

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// load reads the imports of every .go file of the module rooted at root,
// as the go tool would find them (skipping testdata, vendor, directories
// whose names start with "." or "_", and nested modules) but ignoring
// build constraints, so that every platform's files are read.
func load(root string) (*tree, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	t := &tree{Module: module, UsesTesting: map[string]bool{}}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return t.addFile(fset, p, filepath.ToSlash(rel))
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// addFile adds the imports of the file at path p (rel from the root).
func (t *tree) addFile(fset *token.FileSet, p, rel string) error {
	f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
	if err != nil {
		return err
	}
	from := dirOf(t.Module, rel)
	test := strings.HasSuffix(rel, "_test.go")
	for _, spec := range f.Imports {
		to, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return fmt.Errorf("%s: import %s: %v", rel, spec.Path.Value, err)
		}
		if to == "testing" && !test {
			t.UsesTesting[from] = true
		}
		t.Edges = append(t.Edges, edge{File: rel, Line: fset.Position(spec.Pos()).Line, From: from, To: to, Test: test})
	}
	return nil
}

// modulePath returns the module path a go.mod file declares.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '"') {
			m := strings.TrimSpace(rest)
			if u, err := strconv.Unquote(m); err == nil {
				m = u
			}
			return m, nil
		}
	}
	return "", errors.New(gomod + ": no module line")
}

// moduleRoot returns the directory of the go.mod above the working
// directory (the package's directory under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above " + dir)
		}
		dir = parent
	}
}
