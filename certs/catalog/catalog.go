package catalog

import (
	_ "embed"
	"slices"
	"sync"
)

// classesJSON is the embedded catalogue.
//
//go:embed classes.json
var classesJSON []byte

// A Catalog is a validated set of licence classes. It is read-only and safe
// for concurrent use.
type Catalog struct {
	classes    []*Class
	lookup     map[string]*Class // by key, type code and Chinese name
	byTypeCode map[string]*Class
	note       string
	raw        []byte // the file it was parsed from
}

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Parse(classesJSON)
	if err != nil {
		panic("catalog: embedded classes.json is invalid: " + err.Error())
	}
	return c
})

// Default returns the embedded catalogue (classes.json), parsed on first
// use. It panics only if the embedded file is invalid, which the package's
// tests rule out.
func Default() *Catalog { return defaultCatalog() }

// DefaultJSON returns a copy of the embedded catalogue file, e.g. as the
// starting point of a deployment's own catalogue with real type codes.
func DefaultJSON() []byte { return slices.Clone(classesJSON) }

// JSON returns a copy of the file the catalogue was parsed from, e.g. for
// an archive package to carry the catalogue its files were made with.
func (c *Catalog) JSON() []byte { return slices.Clone(c.raw) }

// Classes returns the classes in file order. The slice is the caller's; the
// classes are shared and must not be modified.
func (c *Catalog) Classes() []*Class { return slices.Clone(c.classes) }

// Lookup finds a class by key ("business-license"), type code or Chinese
// name ("营业执照").
func (c *Catalog) Lookup(s string) (*Class, bool) {
	cl, ok := c.lookup[s]
	return cl, ok
}

// ByKey finds a class by its key ("business-license") only: the spelling
// signed formats carry.
func (c *Catalog) ByKey(key string) (*Class, bool) {
	cl, ok := c.lookup[key]
	if !ok || cl.Key != key {
		return nil, false
	}
	return cl, true
}

// ByTypeCode finds a class by its GB/T 36904 type code.
func (c *Catalog) ByTypeCode(code string) (*Class, bool) {
	cl, ok := c.byTypeCode[code]
	return cl, ok
}

// Note returns the catalogue file's top-level "_note".
func (c *Catalog) Note() string { return c.note }
