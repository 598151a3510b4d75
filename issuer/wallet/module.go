package wallet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// ErrBuilding is what a Module answers while the module is being built.
var ErrBuilding = errors.New("wallet: the WebAssembly module is being built")

// Options says where the wallet's module comes from when the binary has
// none embedded (HasWasm is false).
type Options struct {
	// Module returns the module's bytes, ErrBuilding while they are
	// being made, or why there are none. Nil means there are none.
	Module func() ([]byte, error)
}

// Builder builds the wallet's module with the Go toolchain from the
// source tree the server was started in, once, in the background. It is
// how `go run ./cmd/elicense serve` in a checkout serves a working wallet
// with no other step: the module is not committed (it is large and
// changes with every SDK change), and a binary built with
// `go generate ./issuer/wallet` first embeds it instead.
type Builder struct {
	mu   sync.Mutex
	done bool
	wasm []byte
	err  error
}

// Build starts building the module with the go command found on PATH, in
// the source tree this binary was built from (it must not have been built
// with -trimpath), using dir for the build's output. The build uses Go's
// cache, so a restart after the first takes seconds; it never downloads a
// toolchain or changes go.mod, and gives up after ten minutes. Why a build
// failed goes to log; the page is told only that it failed.
func Build(ctx context.Context, dir string, log *slog.Logger) *Builder {
	b := &Builder{}
	go func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		wasm, err := build(ctx, dir)
		if err != nil {
			log.Error("the web wallet cannot be served", "err", err)
			err = errors.New("the web wallet's WebAssembly could not be built at start (the server's log says why): " + WasmMissing)
		} else {
			log.Info("the web wallet's WebAssembly is built", "took", time.Since(start).Round(time.Millisecond).String(), "bytes", len(wasm))
		}
		b.mu.Lock()
		b.done, b.wasm, b.err = true, wasm, err
		b.mu.Unlock()
	}()
	return b
}

func build(ctx context.Context, dir string) ([]byte, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("there is no go command to build it with")
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return nil, errors.New("this binary was built without its source paths (-trimpath)")
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("the source tree it was built from is gone: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// A directory of its own: servers started at once do not share an
	// output file.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "wallet.wasm")
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags=-s", "-o", out, "elicense/mobile-sdk/wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	cmd.Dir = filepath.Dir(file)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go build (%v): %s", err, bytes.TrimSpace(msg))
	}
	return os.ReadFile(out)
}

// Module is the Options.Module of the build.
func (b *Builder) Module() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		return nil, ErrBuilding
	}
	return b.wasm, b.err
}

// New serves the wallet as Handler does, with the module from o when none
// is embedded. While it is being built, wallet.wasm answers 503 with a
// Retry-After, which the page waits out.
func New(o Options) http.Handler { return newHandler(o, site().Has("/wallet.wasm")) }

func newHandler(o Options, embedded bool) http.Handler {
	s := site()
	// The module's ETag, hashed once for the slice Module returns.
	var mu sync.Mutex
	var hashed []byte
	var tag string
	etag := func(wasm []byte) string {
		mu.Lock()
		defer mu.Unlock()
		if len(hashed) != len(wasm) || len(wasm) > 0 && &hashed[0] != &wasm[0] {
			sum := sha256.Sum256(wasm)
			hashed, tag = wasm, `"`+hex.EncodeToString(sum[:16])+`"`
		}
		return tag
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.URL.Path != "/wallet.wasm" || embedded {
			s.ServeHTTP(w, r)
			return
		}
		s.SetHeaders(w.Header())
		var wasm []byte
		err := errors.New(WasmMissing)
		if o.Module != nil {
			wasm, err = o.Module()
		}
		switch {
		case errors.Is(err, ErrBuilding):
			w.Header().Set("Retry-After", "2")
			jsonError(w, http.StatusServiceUnavailable, "wasm_building", "the wallet's WebAssembly is being built (the first start takes a minute or two); the page retries by itself")
		case err == nil && len(wasm) == 0:
			err = errors.New("the built module is empty")
			fallthrough
		case err != nil:
			jsonError(w, http.StatusNotFound, "wasm_not_built", err.Error())
		default:
			w.Header().Set("Content-Type", "application/wasm")
			w.Header().Set("ETag", etag(wasm))
			http.ServeContent(w, r, "wallet.wasm", time.Time{}, bytes.NewReader(wasm))
		}
	})
}

func jsonError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": reason, "message": msg})
}
