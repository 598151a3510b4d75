package mobilesdk

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestGomobileSurface checks that the exported API of this package is
// bindable by gomobile (gomobile itself cannot be installed offline
// here): every exported function, method, struct field and interface
// method uses only string, []byte, bool, int64, error, and pointers to
// exported structs (or exported interfaces) of this package. It reads
// the package's source with go/ast, since reflection cannot enumerate a
// package's functions.
func TestGomobileSurface(t *testing.T) {
	fset := token.NewFileSet()
	files := parseSources(t, fset)
	structs, ifaces := exportedTypes(t, files)
	c := &surfaceCheck{t: t, fset: fset, structs: structs, ifaces: ifaces}
	n := 0
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if c.checkFuncDecl(d) {
					n++
				}
			case *ast.GenDecl:
				c.checkTypeDecl(d)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d exported functions and methods found", n)
	}
}

// parseSources parses the package's non-test Go files.
func parseSources(t *testing.T, fset *token.FileSet) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// exportedTypes returns the names of the exported structs and interfaces
// of files, and reports every other exported type.
func exportedTypes(t *testing.T, files []*ast.File) (structs, ifaces map[string]bool) {
	t.Helper()
	structs, ifaces = map[string]bool{}, map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if !ts.Name.IsExported() {
						continue
					}
					switch ts.Type.(type) {
					case *ast.StructType:
						structs[ts.Name.Name] = true
					case *ast.InterfaceType:
						ifaces[ts.Name.Name] = true
					default:
						t.Errorf("exported type %s is neither a struct nor an interface", ts.Name.Name)
					}
				}
			}
		}
	}
	return structs, ifaces
}

// surfaceCheck reports the exported declarations gomobile cannot bind.
type surfaceCheck struct {
	t       *testing.T
	fset    *token.FileSet
	structs map[string]bool
	ifaces  map[string]bool
}

// ok reports whether gomobile can bind a value of type e.
func (c *surfaceCheck) ok(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "string" || e.Name == "bool" || e.Name == "int64" || e.Name == "error" || c.ifaces[e.Name]
	case *ast.ArrayType:
		id, isID := e.Elt.(*ast.Ident)
		return e.Len == nil && isID && id.Name == "byte"
	case *ast.StarExpr:
		id, isID := e.X.(*ast.Ident)
		return isID && c.structs[id.Name]
	}
	return false
}

func (c *surfaceCheck) checkFields(where string, fl *ast.FieldList) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		if !c.ok(f.Type) {
			c.t.Errorf("%s: type %s is not bindable by gomobile", where, types(c.fset, f.Type))
		}
	}
}

func (c *surfaceCheck) checkFunc(where string, ft *ast.FuncType) {
	c.checkFields(where, ft.Params)
	c.checkFields(where, ft.Results)
	if ft.Results != nil && ft.Results.NumFields() > 2 {
		c.t.Errorf("%s: more than two results", where)
	}
}

// checkFuncDecl checks an exported function or a method of an exported
// type, and reports whether it was one.
func (c *surfaceCheck) checkFuncDecl(d *ast.FuncDecl) bool {
	if !d.Name.IsExported() {
		return false
	}
	where := d.Name.Name
	if d.Recv != nil {
		recv := d.Recv.List[0].Type
		if s, isStar := recv.(*ast.StarExpr); isStar {
			recv = s.X
		}
		where = recv.(*ast.Ident).Name + "." + where
		if !recv.(*ast.Ident).IsExported() {
			return false
		}
	}
	c.checkFunc(where, d.Type)
	return true
}

// checkTypeDecl checks the exported fields of exported structs and the
// methods of exported interfaces.
func (c *surfaceCheck) checkTypeDecl(d *ast.GenDecl) {
	for _, s := range d.Specs {
		ts, isType := s.(*ast.TypeSpec)
		if !isType || !ts.Name.IsExported() {
			continue
		}
		switch tt := ts.Type.(type) {
		case *ast.StructType:
			for _, fld := range tt.Fields.List {
				for _, name := range fld.Names {
					if name.IsExported() && !c.ok(fld.Type) {
						c.t.Errorf("field %s.%s: type %s is not bindable", ts.Name.Name, name.Name, types(c.fset, fld.Type))
					}
				}
			}
		case *ast.InterfaceType:
			for _, m := range tt.Methods.List {
				if ft, isFunc := m.Type.(*ast.FuncType); isFunc {
					c.checkFunc(ts.Name.Name+"."+m.Names[0].Name, ft)
				}
			}
		}
	}
}

func types(fset *token.FileSet, e ast.Expr) string {
	start, end := fset.Position(e.Pos()), fset.Position(e.End())
	src, err := os.ReadFile(start.Filename)
	if err != nil {
		return "?"
	}
	return string(src[start.Offset:end.Offset])
}

// TestWasmBuild checks that the SDK and its WebAssembly front end build
// for GOOS=js GOARCH=wasm.
func TestWasmBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the wasm bundle")
	}
	out := filepath.Join(t.TempDir(), "wallet.wasm")
	_, file, _, _ := runtime.Caller(0)
	for _, args := range [][]string{{"build", "./..."}, {"build", "-o", out, "./wasm"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Dir(file)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOOS=js GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wallet.wasm: %d bytes", st.Size())
}
