//go:build js && wasm

package main

import (
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"sync"
	"syscall/js"

	mobilesdk "elicense/mobile-sdk"
)

const storagePrefix = "elicense-wallet/"

// localStorage is a mobilesdk.Storage over window.localStorage.
type localStorage struct{ ls js.Value }

func (s localStorage) Load(name string) ([]byte, error) {
	v := s.ls.Call("getItem", storagePrefix+name)
	if v.IsNull() || v.IsUndefined() {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(v.String())
}

func (s localStorage) Save(name string, data []byte) error {
	s.ls.Call("setItem", storagePrefix+name, base64.StdEncoding.EncodeToString(data))
	return nil
}

func (s localStorage) Remove(name string) error {
	s.ls.Call("removeItem", storagePrefix+name)
	return nil
}

func (s localStorage) Names() (string, error) {
	n := s.ls.Get("length").Int()
	var names []string
	for i := 0; i < n; i++ {
		k := s.ls.Call("key", i).String()
		if strings.HasPrefix(k, storagePrefix) {
			names = append(names, strings.TrimPrefix(k, storagePrefix))
		}
	}
	sort.Strings(names)
	return strings.Join(names, "\n"), nil
}

var (
	mu     sync.Mutex
	wallet *mobilesdk.Wallet
)

func current() (*mobilesdk.Wallet, error) {
	mu.Lock()
	defer mu.Unlock()
	if wallet == nil {
		return nil, errors.New("the wallet is not open; call open(passphrase) first")
	}
	return wallet, nil
}

// promise runs f in a goroutine (network calls must not block the event
// loop) and settles a Promise with its result.
func promise(f func() (any, error)) js.Value {
	return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := f()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	}))
}

func licenceObject(l *mobilesdk.Licence) map[string]any {
	return map[string]any{
		"id": l.ID, "copyOf": l.CopyOf, "class": l.Class, "name": l.Name, "number": l.Number,
		"issuerName": l.IssuerName, "holderName": l.HolderName, "holderCode": l.HolderCode,
		"issuedOn": l.IssuedOn, "validFrom": l.ValidFrom, "validUntil": l.ValidUntil, "status": l.Status,
		"bound": l.Bound, "verified": l.Verified, "fields": l.FieldsJSON, "optional": l.Optional,
	}
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func str(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func main() {
	api := map[string]any{
		"open": js.FuncOf(func(_ js.Value, args []js.Value) any {
			pass := str(arg(args, 0))
			return promise(func() (any, error) {
				w, err := mobilesdk.OpenStorage(localStorage{js.Global().Get("localStorage")}, pass)
				if err != nil {
					return nil, err
				}
				mu.Lock()
				wallet = w
				mu.Unlock()
				return js.ValueOf(map[string]any{"deviceKeyID": w.DeviceKeyID()}), nil
			})
		}),
		"claim": js.FuncOf(func(_ js.Value, args []js.Value) any {
			server, code := str(arg(args, 0)), str(arg(args, 1))
			return promise(func() (any, error) {
				w, err := current()
				if err != nil {
					return nil, err
				}
				l, err := w.Claim(server, code)
				if err != nil {
					return nil, err
				}
				return js.ValueOf(licenceObject(l)), nil
			})
		}),
		"list": js.FuncOf(func(_ js.Value, _ []js.Value) any {
			return promise(func() (any, error) {
				w, err := current()
				if err != nil {
					return nil, err
				}
				l, err := w.List()
				if err != nil {
					return nil, err
				}
				out := make([]any, 0, l.Len())
				for i := int64(0); i < l.Len(); i++ {
					out = append(out, licenceObject(l.At(i)))
				}
				return js.ValueOf(out), nil
			})
		}),
		"present": js.FuncOf(func(_ js.Value, args []js.Value) any {
			id, disclose := str(arg(args, 0)), str(arg(args, 1))
			var now int64
			if v := arg(args, 2); v.Type() == js.TypeNumber {
				now = int64(v.Float())
			}
			return promise(func() (any, error) {
				w, err := current()
				if err != nil {
					return nil, err
				}
				p, err := w.Present(id, disclose, now)
				if err != nil {
					return nil, err
				}
				return js.ValueOf(map[string]any{"text": p.Text, "presentedAt": p.PresentedAt, "refreshAt": p.RefreshAt, "expiresAt": p.ExpiresAt}), nil
			})
		}),
		"remove": js.FuncOf(func(_ js.Value, args []js.Value) any {
			id := str(arg(args, 0))
			return promise(func() (any, error) {
				w, err := current()
				if err != nil {
					return nil, err
				}
				return js.Undefined(), w.Delete(id)
			})
		}),
		"qrPNG": js.FuncOf(func(_ js.Value, args []js.Value) any {
			text := str(arg(args, 0))
			ppm := int64(4)
			if v := arg(args, 1); v.Type() == js.TypeNumber {
				ppm = int64(v.Int())
			}
			return promise(func() (any, error) {
				png, err := mobilesdk.QRPNG(text, ppm)
				if err != nil {
					return nil, err
				}
				arr := js.Global().Get("Uint8Array").New(len(png))
				js.CopyBytesToJS(arr, png)
				return arr, nil
			})
		}),
	}
	js.Global().Set("elicenseWallet", js.ValueOf(api))
	select {}
}
