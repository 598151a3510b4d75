package verifier

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
)

// State is the counter's trust data: a verified trust bundle, the
// verified status lists by their bundle ID, and the genuine sets of the
// bundle's compromised keys by key ID (Bundle.VerifyGenuineSet; a set the
// bundle does not name is ignored, and a compromised key without its set
// has every QR core refused). The verifier never changes it.
type State struct {
	Bundle  *trust.Bundle
	Lists   map[string]*statuslist.Signed
	Genuine map[string]*trust.GenuineSet
	// StatusSince, if set, dates status st of entry index of list id (a
	// bundle ID): the issued-at of the earliest status data held that
	// shows it, so the change happened no later than that; zero when
	// unknown. The verifier calls it only for refusals (revoked,
	// suspended, superseded), never for a valid licence. It must be safe
	// for concurrent use. The store provides it (store.Cache.StatusSince).
	StatusSince func(id string, index uint64, st statuslist.Status) time.Time
}

// Options configure a Verifier. Zero values take the defaults.
type Options struct {
	Catalog        *catalog.Catalog // nil: catalog.Default()
	MaxAge         time.Duration    // presentation acceptance; 0: qr.DefaultMaxAge (60 s)
	ClockSkew      time.Duration    // 0: qr.DefaultClockSkew (30 s)
	ReplayCapacity int              // presentations remembered; 0: DefaultReplayCapacity
}

// DefaultReplayCapacity bounds the replay cache: a busy counter verifies a
// few presentations a minute; 64 Ki covers a 90-second window at over
// 700 a second.
const DefaultReplayCapacity = 64 << 10

// Licence is what the verdict says about the licence itself.
type Licence struct {
	ID          string    `json:"id"`         // GB/T 36904 identifier (证照标识)
	Class       string    `json:"class"`      // catalogue key
	ClassName   string    `json:"class_name"` // Chinese class name
	ClassNameEN string    `json:"class_name_en"`
	HolderName  string    `json:"holder_name"`
	HolderCode  string    `json:"holder_code"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until,omitzero"` // zero: 长期
	Bound       bool      `json:"bound"`
	PresentedAt time.Time `json:"presented_at,omitzero"`
	StatusList  string    `json:"status_list,omitempty"`
	StatusIndex uint64    `json:"status_index"`
	Status      string    `json:"status,omitempty"` // valid, revoked, suspended, superseded
	// StatusSince, for a licence that is not valid, is the time of the
	// earliest status data this counter holds that shows the change (the
	// change happened no later than that); zero when unknown.
	StatusSince time.Time `json:"status_since,omitzero"`
}

// Verdict is the outcome of one check.
type Verdict struct {
	Code       Code              `json:"code"`
	Headline   string            `json:"headline"`   // short Chinese verdict (Code.Headline)
	Message    string            `json:"message"`    // Chinese sentence
	MessageEN  string            `json:"message_en"` // English sentence
	Detail     string            `json:"detail,omitempty"`
	Licence    *Licence          `json:"licence,omitempty"` // nil when the token did not verify
	Fields     map[string]string `json:"fields,omitempty"`  // shown class fields by key
	Agency     string            `json:"agency,omitempty"`  // issuing agency name
	AgencyCode string            `json:"agency_code,omitempty"`
	StatusAge  time.Duration     `json:"status_age"` // age of the status data used (0 when none)
	Warnings   []string          `json:"warnings,omitempty"`
	// Seen is set for a holder-bound presentation whose signatures
	// verified: its digest and the end of its replay window, for a caller
	// that keeps the replay cache across processes (Remember).
	Seen *Seen `json:"-"`
	// DeviceKey is the device key of a verified holder-bound
	// presentation's copy (33 bytes, compressed), for the counter's
	// receipt (verifier/store); nil otherwise. Never shown or logged.
	DeviceKey []byte `json:"-"`
}

// Seen identifies a presentation for the replay cache.
type Seen struct {
	Digest [32]byte
	Until  time.Time
}

// Verifier checks QR texts offline. It is safe for concurrent use; Update
// swaps in new trust data atomically.
type Verifier struct {
	opts   Options
	state  atomic.Pointer[snapshot]
	replay *replayCache
}

type snapshot struct {
	State
	keys credential.KeyResolver
}

// New returns a verifier over st (which may be empty; every check then
// says NO_TRUST until Update).
func New(st State, opts Options) *Verifier {
	if opts.Catalog == nil {
		opts.Catalog = catalog.Default()
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = qr.DefaultMaxAge
	}
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = qr.DefaultClockSkew
	}
	if opts.ReplayCapacity <= 0 {
		opts.ReplayCapacity = DefaultReplayCapacity
	}
	v := &Verifier{opts: opts, replay: newReplayCache(opts.ReplayCapacity)}
	v.Update(st)
	return v
}

// Update replaces the trust data.
func (v *Verifier) Update(st State) {
	s := &snapshot{State: st}
	if st.Bundle != nil {
		s.keys = st.Bundle.ResolverWith(st.Genuine)
	}
	v.state.Store(s)
}

// Remember adds a presentation seen elsewhere (by an earlier process) to
// the replay cache.
func (v *Verifier) Remember(s Seen, now time.Time) { v.replay.add(s.Digest, now, s.Until) }

// State returns the trust data in use.
func (v *Verifier) State() State { return v.state.Load().State }

func verdict(c Code, detail string) Verdict {
	return Verdict{Code: c, Headline: c.Headline(), Message: c.Message(), MessageEN: c.MessageEN(), Detail: detail}
}

// Verify checks one QR text at now and returns the verdict. It never
// panics on any input and returns VALID or VALID_STATIC only when every
// check passed.
func (v *Verifier) Verify(text string, now time.Time) Verdict {
	tok, err := qr.Decode(text)
	if err != nil {
		return verdict(codeOf(err), err.Error())
	}
	s := v.state.Load()
	if s.Bundle == nil {
		return verdict(NoTrust, "no trust bundle held")
	}
	res, err := tok.Verify(qr.VerifyOptions{Catalog: v.opts.Catalog, Keys: s.keys, Now: now, MaxAge: v.opts.MaxAge, ClockSkew: v.opts.ClockSkew})
	if err != nil {
		return verdict(codeOf(err), err.Error())
	}
	out := verdict(Valid, "")
	if !res.Bound {
		out = verdict(ValidStatic, "")
	}
	cl := res.Class
	out.Licence = &Licence{
		ID: res.LicenseID.String(), Class: cl.Key, ClassName: cl.NameZH, ClassNameEN: cl.NameEN,
		HolderName: res.HolderName, HolderCode: res.HolderCode, ValidFrom: res.ValidFrom, ValidUntil: res.ValidUntil,
		Bound: res.Bound, PresentedAt: res.PresentedAt, StatusList: res.StatusList, StatusIndex: res.StatusIndex,
	}
	out.Fields = res.Fields
	out.AgencyCode = res.IssuerKey.AgencyCode
	if a, ok := s.Bundle.Agency(res.IssuerKey.AgencyCode); ok {
		out.Agency = a.Name
	}
	if s.Bundle.Expired(now) {
		out.Warnings = append(out.Warnings, fmt.Sprintf("信任数据已过期 %s / trust bundle overdue by %s",
			now.Sub(s.Bundle.NextUpdate).Round(time.Second), now.Sub(s.Bundle.NextUpdate).Round(time.Second)))
	}

	// Replay: a bound presentation is accepted once inside its window.
	if res.Bound {
		out.DeviceKey = tok.DeviceKey()
		d := tok.Digest()
		until := res.PresentedAt.Add(v.opts.MaxAge + 2*v.opts.ClockSkew)
		out.Seen = &Seen{Digest: d, Until: until}
		if !v.replay.add(d, now, until) {
			return v.fail(out, Replayed, "presentation already seen")
		}
	}

	// Status. Every token names a status list (qr.Decode refuses one
	// that does not), so none escapes revocation.
	sl, ok := s.Bundle.StatusList(res.StatusList)
	if !ok || sl.Agency != res.IssuerKey.AgencyCode {
		return v.fail(out, StatusUnavailable, fmt.Sprintf("status list %q is not in the trust bundle for agency %s", res.StatusList, res.IssuerKey.AgencyCode))
	}
	list := s.Lists[res.StatusList]
	if list == nil {
		return v.fail(out, StatusUnavailable, fmt.Sprintf("status list %q not held; sync", res.StatusList))
	}
	st, err := list.Status(int(min(res.StatusIndex, uint64(1)<<40)))
	if err != nil {
		return v.fail(out, StatusUnavailable, fmt.Sprintf("status index %d: %v", res.StatusIndex, err))
	}
	out.StatusAge = list.Age(now)
	out.Licence.Status = st.String()
	if st != statuslist.Valid {
		return v.refuse(out, s, st)
	}
	if stale := out.StatusAge > cl.MaxStatusStaleness || list.Expired(now); stale {
		why := fmt.Sprintf("status data is %s old (class allows %s)", out.StatusAge.Round(time.Second), cl.MaxStatusStaleness)
		if list.Expired(now) {
			why += "; the list is past its exp"
		}
		if cl.StalePolicy != catalog.StaleWarn {
			return v.fail(out, StatusStale, why)
		}
		out.Warnings = append(out.Warnings, fmt.Sprintf("状态数据已有 %s，超过本类证照允许的 %s / %s",
			out.StatusAge.Round(time.Minute), cl.MaxStatusStaleness, why))
	}
	return out
}

// refuse is the verdict for a licence whose status entry is st (not
// valid), dated when the status data held allows it.
func (v *Verifier) refuse(out Verdict, s *snapshot, st statuslist.Status) Verdict {
	if s.StatusSince != nil {
		out.Licence.StatusSince = s.StatusSince(out.Licence.StatusList, out.Licence.StatusIndex, st)
	}
	switch st {
	case statuslist.Revoked:
		return v.fail(out, Revoked, "")
	case statuslist.Suspended:
		return v.fail(out, Suspended, "")
	default:
		return v.fail(out, Superseded, "")
	}
}

// fail turns an accepted-so-far verdict into a refusal, keeping what was
// learnt about the licence for the clerk and the log.
func (v *Verifier) fail(out Verdict, c Code, detail string) Verdict {
	out.Code, out.Headline, out.Message, out.MessageEN, out.Detail = c, c.Headline(), c.Message(), c.MessageEN(), detail
	return out
}

// codeOf maps a qr, credential or statuslist error onto a verdict code.
func codeOf(err error) Code {
	switch {
	case errors.Is(err, qr.ErrUnsupportedVersion):
		return UnsupportedVersion
	case errors.Is(err, credential.ErrUnknownKey):
		return UnknownIssuer
	case errors.Is(err, credential.ErrKeyCompromised):
		return KeyCompromised
	case errors.Is(err, credential.ErrKeyRetired):
		return KeyRetired
	case errors.Is(err, credential.ErrClassNotAllowed), errors.Is(err, credential.ErrIssuerMismatch):
		return ClassNotAllowedForIssuer
	case errors.Is(err, credential.ErrBadSignature):
		return BadSignature
	case errors.Is(err, qr.ErrBadDisclosure):
		return BadDisclosure
	case errors.Is(err, qr.ErrBadDeviceSignature), errors.Is(err, qr.ErrBindingMismatch):
		return HolderBindingFailed
	case errors.Is(err, qr.ErrPresentationStale), errors.Is(err, qr.ErrPresentationFuture):
		return PresentationExpired
	case errors.Is(err, credential.ErrExpired), errors.Is(err, credential.ErrKeyNotValid):
		return Expired
	case errors.Is(err, credential.ErrNotYetValid):
		return NotYetValid
	default: // ErrMalformed, ErrBadField, ErrUnknownClass and anything else
		return Malformed
	}
}
