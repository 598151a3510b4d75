//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall/js"
	"time"

	mobilesdk "elicense/mobile-sdk"
)

const (
	dbName    = "elicense-wallet"
	dbStore   = "files"
	dbVersion = 1
)

// await blocks the calling goroutine (never the event loop: every caller
// runs inside promise) until the IndexedDB request or transaction req
// fires ok or "error"/"abort", and returns the request's result.
func await(req js.Value, ok string) (js.Value, error) { return watch(req, ok)() }

// watch attaches the handlers to req now (before the caller yields to the
// event loop, so no event is missed) and returns the function that waits.
func watch(req js.Value, ok string) func() (js.Value, error) {
	type outcome struct {
		v   js.Value
		err error
	}
	ch := make(chan outcome, 1)
	var funcs []js.Func
	on := func(event string, f func(js.Value) outcome) {
		fn := js.FuncOf(func(_ js.Value, _ []js.Value) any {
			select {
			case ch <- f(req):
			default:
			}
			return nil
		})
		funcs = append(funcs, fn)
		req.Set("on"+event, fn)
	}
	on(ok, func(r js.Value) outcome {
		if res := r.Get("result"); !res.IsUndefined() {
			return outcome{v: res}
		}
		return outcome{v: js.Undefined()}
	})
	fail := func(r js.Value) outcome {
		msg := "IndexedDB request failed"
		if e := r.Get("error"); !e.IsNull() && !e.IsUndefined() {
			msg = "IndexedDB: " + e.Get("message").String()
		}
		return outcome{err: errors.New(msg)}
	}
	on("error", fail)
	if ok == "complete" {
		on("abort", fail)
	}
	return func() (js.Value, error) {
		o := <-ch
		for _, fn := range funcs {
			fn.Release()
		}
		return o.v, o.err
	}
}

// idbStorage is a mobilesdk.Storage over the page's IndexedDB: the files
// (already encrypted by the SDK) are kept as byte arrays in one object
// store, mirrored in memory so that Load and Names need no round trip.
// Save and Remove wait until the transaction has committed.
type idbStorage struct {
	db    js.Value
	mu    sync.Mutex
	files map[string][]byte
}

func openIDB() (*idbStorage, error) {
	idb := js.Global().Get("indexedDB")
	if idb.IsUndefined() || idb.IsNull() {
		return nil, fmt.Errorf("%w: this browser has no IndexedDB (private mode?); the wallet cannot keep its key", mobilesdk.ErrNoStorage)
	}
	req := idb.Call("open", dbName, dbVersion)
	upgrade := js.FuncOf(func(_ js.Value, _ []js.Value) any {
		db := req.Get("result")
		if !db.Get("objectStoreNames").Call("contains", dbStore).Bool() {
			db.Call("createObjectStore", dbStore)
		}
		return nil
	})
	defer upgrade.Release()
	req.Set("onupgradeneeded", upgrade)
	db, err := await(req, "success")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", mobilesdk.ErrNoStorage, err)
	}
	s := &idbStorage{db: db, files: map[string][]byte{}}
	st := db.Call("transaction", dbStore, "readonly").Call("objectStore", dbStore)
	waitKeys, waitVals := watch(st.Call("getAllKeys"), "success"), watch(st.Call("getAll"), "success")
	keys, err := waitKeys()
	if err != nil {
		return nil, err
	}
	vals, err := waitVals()
	if err != nil {
		return nil, err
	}
	for i := 0; i < keys.Length(); i++ {
		v := vals.Index(i)
		if v.Type() != js.TypeObject {
			continue
		}
		b := make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(b, v)
		s.files[keys.Index(i).String()] = b
	}
	return s, nil
}

func (s *idbStorage) Load(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[name]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), b...), nil
}

func (s *idbStorage) write(name string, data []byte) error {
	tx := s.db.Call("transaction", dbStore, "readwrite")
	st := tx.Call("objectStore", dbStore)
	if data == nil {
		st.Call("delete", name)
	} else {
		arr := js.Global().Get("Uint8Array").New(len(data))
		js.CopyBytesToJS(arr, data)
		st.Call("put", arr, name)
	}
	_, err := await(tx, "complete")
	return err
}

func (s *idbStorage) Save(name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == nil {
		data = []byte{}
	}
	if err := s.write(name, data); err != nil {
		return err
	}
	s.files[name] = append([]byte(nil), data...)
	return nil
}

func (s *idbStorage) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(name, nil); err != nil {
		return err
	}
	delete(s.files, name)
	return nil
}

func (s *idbStorage) Names() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "\n"), nil
}

var (
	mu      sync.Mutex
	wallet  *mobilesdk.Wallet
	storage *idbStorage
	// clockOffset is added to the browser's clock (setClock, for tests
	// and demonstrations); seconds.
	clockOffset int64
)

// now is the wallet's clock in Unix seconds.
func now() int64 {
	mu.Lock()
	defer mu.Unlock()
	return time.Now().Unix() + clockOffset
}

func current() (*mobilesdk.Wallet, error) {
	mu.Lock()
	defer mu.Unlock()
	if wallet == nil {
		return nil, fmt.Errorf("%w: call open(passphrase) first", mobilesdk.ErrLocked)
	}
	return wallet, nil
}

// promise runs f in a goroutine (network calls must not block the event
// loop) and settles a Promise with its result.
// withWallet is promise over the open wallet: rejected when none is open.
func withWallet(f func(w *mobilesdk.Wallet) (any, error)) js.Value {
	return promise(func() (any, error) {
		w, err := current()
		if err != nil {
			return nil, err
		}
		return f(w)
	})
}

func promise(f func() (any, error)) js.Value {
	return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := f()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	}))
}

// jsError is the Error a promise rejects with: its message is the
// holder's message in Chinese (mobilesdk.ErrorMessage), code the reason
// (mobilesdk.Reason), messageZh and messageEn the holder's message in
// both languages, detail the SDK's technical text (for a details view or
// the console, never the message). A licence that cannot be presented
// also has status.
func jsError(err error) js.Value {
	zh := mobilesdk.ErrorMessage(err, "zh")
	e := js.Global().Get("Error").New(zh)
	e.Set("code", mobilesdk.Reason(err))
	e.Set("messageZh", zh)
	e.Set("messageEn", mobilesdk.ErrorMessage(err, "en"))
	e.Set("detail", err.Error())
	var se *mobilesdk.StatusError
	if errors.As(err, &se) {
		e.Set("status", se.Status)
	}
	return e
}

// requests are the requests opened, by id, for consent and refuse.
var requests = map[string]*mobilesdk.ConsentRequest{}

func requestObject(r *mobilesdk.ConsentRequest) map[string]any {
	return map[string]any{
		"id": r.ID, "server": r.Server, "rpID": r.RPID, "rpName": r.RPName, "orgCode": r.OrgCode, "orgName": r.OrgName,
		"matterCode": r.MatterCode, "matterName": r.MatterName, "class": r.Class, "className": r.ClassName,
		"fields": r.FieldsJSON, "duration": r.Duration, "durationZh": r.DurationText("zh"), "durationEn": r.DurationText("en"),
		"use": r.Use, "useZh": r.UseText("zh"), "useEn": r.UseText("en"), "issuedAt": r.IssuedAt, "expiresAt": r.ExpiresAt,
		"state": r.State, "grant": r.Grant, "licences": r.Licences,
	}
}

func grantObject(g *mobilesdk.Grant) map[string]any {
	return map[string]any{"id": g.ID, "licence": g.Licence, "rpID": g.RPID, "rpName": g.RPName, "matterCode": g.MatterCode,
		"matterName": g.MatterName, "fields": g.Fields, "notAfter": g.NotAfter, "use": g.Use, "state": g.State, "createdAt": g.CreatedAt}
}

func useObject(u *mobilesdk.Use) map[string]any {
	return map[string]any{"index": u.Index, "kind": u.Kind, "time": u.Time, "grant": u.Grant, "rpID": u.RPID, "rpName": u.RPName,
		"matterCode": u.MatterCode, "matterName": u.MatterName, "fields": u.Fields, "counter": u.Counter, "verdict": u.Verdict,
		"verified": u.Verified, "problem": u.Problem}
}

// openedRequest is a request opened before.
func openedRequest(id string) (*mobilesdk.ConsentRequest, error) {
	mu.Lock()
	defer mu.Unlock()
	r := requests[id]
	if r == nil {
		return nil, fmt.Errorf("%w: open the request first (openRequest)", mobilesdk.ErrInvalidArgument)
	}
	return r, nil
}

func licenceObject(l *mobilesdk.Licence) map[string]any {
	return map[string]any{
		"id": l.ID, "copyOf": l.CopyOf, "index": l.Index, "class": l.Class, "name": l.Name, "number": l.Number,
		"issuerName": l.IssuerName, "holderName": l.HolderName, "holderCode": l.HolderCode,
		"issuedOn": l.IssuedOn, "validFrom": l.ValidFrom, "validUntil": l.ValidUntil, "status": l.Status,
		"statusAt": l.StatusAt, "refreshedAt": l.RefreshedAt, "statusMaxAge": l.StatusMaxAge, "presentable": l.Presentable(),
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
	api := make(map[string]any, len(exports))
	for name, f := range exports {
		api[name] = js.FuncOf(f)
	}
	js.Global().Set("elicenseWallet", js.ValueOf(api))
	select {}
}

// exports are the functions of the global elicenseWallet object (see doc.go), by name.
var exports = map[string]func(js.Value, []js.Value) any{
	"open":        jsOpen,
	"claim":       jsClaim,
	"list":        jsList,
	"pinRoot":     jsPinRoot,
	"refresh":     jsRefresh,
	"present":     jsPresent,
	"remove":      jsRemove,
	"fetchOFD":    jsFetchOFD,
	"ofd":         jsOFD,
	"qrPNG":       jsQrPNG,
	"openRequest": jsOpenRequest,
	"consent":     jsConsent,
	"refuse":      jsRefuse,
	"grants":      jsGrants,
	"revokeGrant": jsRevokeGrant,
	"uses":        jsUses,
	"setClock":    jsSetClock,
	"now":         jsNow,
	"close":       jsClose,
}

func jsOpen(_ js.Value, args []js.Value) any {
	pass := str(arg(args, 0))
	return promise(func() (any, error) {
		mu.Lock()
		st := storage
		mu.Unlock()
		if st == nil {
			var err error
			if st, err = openIDB(); err != nil {
				return nil, err
			}
			mu.Lock()
			storage = st
			mu.Unlock()
		}
		w, err := mobilesdk.OpenStorage(st, pass)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		wallet = w
		mu.Unlock()
		return js.ValueOf(map[string]any{"deviceKeyID": w.DeviceKeyID()}), nil
	})
}

func jsClaim(_ js.Value, args []js.Value) any {
	server, code := str(arg(args, 0)), str(arg(args, 1))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		l, err := w.Claim(server, code)
		if err != nil {
			return nil, err
		}
		return js.ValueOf(licenceObject(l)), nil
	})
}

func jsList(_ js.Value, _ []js.Value) any {
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
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
}

func jsPinRoot(_ js.Value, args []js.Value) any {
	server := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		if root, err := w.TrustRoot(); err != nil {
			return nil, err
		} else if root != nil {
			return "", nil
		}
		kid, err := w.PinTrustRootFromServer(server)
		if err != nil {
			return nil, err
		}
		return kid, nil
	})
}

func jsRefresh(_ js.Value, _ []js.Value) any {
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		n, err := w.RefreshAll()
		out := map[string]any{"refreshed": n, "error": "", "code": "", "messageZh": "", "messageEn": ""}
		if err != nil {
			out["error"] = err.Error()
			out["code"] = mobilesdk.Reason(err)
			out["messageZh"] = mobilesdk.ErrorMessage(err, "zh")
			out["messageEn"] = mobilesdk.ErrorMessage(err, "en")
		}
		return js.ValueOf(out), nil
	})
}

func jsPresent(_ js.Value, args []js.Value) any {
	id, disclose := str(arg(args, 0)), str(arg(args, 1))
	var at int64
	if v := arg(args, 2); v.Type() == js.TypeNumber {
		at = int64(v.Float())
	}
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		if at == 0 {
			at = now()
		}
		p, err := w.Present(id, disclose, at)
		if err != nil {
			return nil, err
		}
		return js.ValueOf(map[string]any{"text": p.Text, "presentedAt": p.PresentedAt, "refreshAt": p.RefreshAt, "expiresAt": p.ExpiresAt,
			"status": p.Status, "statusAge": p.StatusAge, "statusStale": p.StatusStale}), nil
	})
}

func jsRemove(_ js.Value, args []js.Value) any {
	id := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		return js.Undefined(), w.Delete(id)
	})
}

// jsFetchOFD fetches (and keeps) the licence's sealed OFD file: a
// Uint8Array.
func jsFetchOFD(_ js.Value, args []js.Value) any {
	id := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		b, err := w.FetchOFD(id)
		if err != nil {
			return nil, err
		}
		return bytesToJS(b), nil
	})
}

// jsOFD is the OFD file kept by an earlier fetchOFD (offline), or null.
func jsOFD(_ js.Value, args []js.Value) any {
	id := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		b, err := w.OFD(id)
		if err != nil || b == nil {
			return js.Null(), err
		}
		return bytesToJS(b), nil
	})
}

func bytesToJS(b []byte) js.Value {
	arr := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(arr, b)
	return arr
}

func jsQrPNG(_ js.Value, args []js.Value) any {
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
		return bytesToJS(png), nil
	})
}

func jsOpenRequest(_ js.Value, args []js.Value) any {
	link := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		r, err := w.OpenRequest(link)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		requests[r.ID] = r
		mu.Unlock()
		return js.ValueOf(requestObject(r)), nil
	})
}

func jsConsent(_ js.Value, args []js.Value) any {
	id, licence, fields := str(arg(args, 0)), str(arg(args, 1)), str(arg(args, 2))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		r, err := openedRequest(id)
		if err != nil {
			return nil, err
		}
		g, err := w.Consent(r, licence, fields)
		if err != nil {
			return nil, err
		}
		return js.ValueOf(grantObject(g)), nil
	})
}

func jsRefuse(_ js.Value, args []js.Value) any {
	id, licence := str(arg(args, 0)), str(arg(args, 1))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		r, err := openedRequest(id)
		if err != nil {
			return nil, err
		}
		return js.Undefined(), w.Refuse(r, licence)
	})
}

func jsGrants(_ js.Value, args []js.Value) any {
	licence := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		l, err := w.Grants(licence)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, l.Len())
		for i := int64(0); i < l.Len(); i++ {
			out = append(out, grantObject(l.At(i)))
		}
		return js.ValueOf(out), nil
	})
}

func jsRevokeGrant(_ js.Value, args []js.Value) any {
	licence, grant := str(arg(args, 0)), str(arg(args, 1))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		return js.Undefined(), w.RevokeGrant(licence, grant)
	})
}

func jsUses(_ js.Value, args []js.Value) any {
	licence := str(arg(args, 0))
	return withWallet(func(w *mobilesdk.Wallet) (any, error) {
		l, err := w.Uses(licence)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, l.Len())
		for i := int64(0); i < l.Len(); i++ {
			out = append(out, useObject(l.At(i)))
		}
		return js.ValueOf(out), nil
	})
}

func jsSetClock(_ js.Value, args []js.Value) any {
	var off int64
	if v := arg(args, 0); v.Type() == js.TypeNumber && v.Float() > 0 {
		off = int64(v.Float()) - time.Now().Unix()
	}
	mu.Lock()
	clockOffset = off
	mu.Unlock()
	return nil
}

func jsNow(_ js.Value, _ []js.Value) any {
	return now()
}

func jsClose(_ js.Value, _ []js.Value) any {
	mu.Lock()
	wallet = nil
	mu.Unlock()
	return nil
}
