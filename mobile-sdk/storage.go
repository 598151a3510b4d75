package mobilesdk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Storage is where a wallet keeps its files: a directory on a phone or a
// desktop, browser storage in WebAssembly, or the platform's secure store
// implemented in Java/Kotlin/Swift through gomobile. Everything a wallet
// saves is already encrypted; a Storage only has to keep bytes.
//
// Names are short ASCII strings ([a-z0-9.-]). Implementations must be safe
// for use by one wallet at a time.
type Storage interface {
	// Load returns the named file, or nil and no error if there is none.
	Load(name string) ([]byte, error)
	// Save replaces the named file atomically: a reader sees the old
	// content or the new, never a mixture.
	Save(name string, data []byte) error
	// Remove deletes the named file; removing a missing file is not an
	// error.
	Remove(name string) error
	// Names lists the stored files, one per line (a string rather than a
	// slice, so that gomobile can bind the interface).
	Names() (string, error)
}

// dirStorage keeps each file in a directory, mode 0600, written to a
// temporary file, synced and renamed into place.
type dirStorage struct{ dir string }

// NewDirStorage returns a Storage over the directory dir, creating it
// (mode 0700) if needed.
func NewDirStorage(dir string) (Storage, error) {
	if dir == "" {
		return nil, wrapf(ErrInvalidArgument, "empty wallet directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &dirStorage{dir: dir}, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (d *dirStorage) Load(name string) ([]byte, error) {
	if !validName(name) {
		return nil, fmt.Errorf("bad file name %q", name)
	}
	b, err := os.ReadFile(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (d *dirStorage) Save(name string, data []byte) error {
	if !validName(name) {
		return fmt.Errorf("bad file name %q", name)
	}
	f, err := os.CreateTemp(d.dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, name)); err != nil {
		return err
	}
	ok = true
	if dir, err := os.Open(d.dir); err == nil { // make the rename durable
		dir.Sync()
		dir.Close()
	}
	return nil
}

func (d *dirStorage) Remove(name string) error {
	if !validName(name) {
		return fmt.Errorf("bad file name %q", name)
	}
	err := os.Remove(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d *dirStorage) Names() (string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && validName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, "\n"), nil
}

// memStorage is a Storage in memory, for tests and for platforms that
// persist a snapshot themselves.
type memStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryStorage returns an empty Storage held in memory.
func NewMemoryStorage() Storage { return &memStorage{m: map[string][]byte{}} }

func (s *memStorage) Load(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), b...), nil
}

func (s *memStorage) Save(name string, data []byte) error {
	if !validName(name) {
		return fmt.Errorf("bad file name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = append([]byte(nil), data...)
	return nil
}

func (s *memStorage) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
	return nil
}

func (s *memStorage) Names() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.m))
	for n := range s.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "\n"), nil
}

func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, "\n") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
