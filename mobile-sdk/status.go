package mobilesdk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"elicense/certs/catalog"
)

// A licence's status as the wallet knows it (Licence.Status).
const (
	StatusValid      = "valid"
	StatusRevoked    = "revoked"    // 吊销或注销
	StatusSuspended  = "suspended"  // 暂停
	StatusSuperseded = "superseded" // 已换发
	// StatusUnknown: the wallet has not read the licence's status from a
	// verified status list (no trust root pinned, or never refreshed).
	StatusUnknown = "unknown"
)

// DefaultStatusMaxAge is how long a refreshed status counts as current
// for a class the catalogue does not know. Known classes use their own
// max_status_staleness (24 h for most), the horizon past which a counter
// no longer relies on its own status data: a holder is told their status
// is old at the point a counter would be.
const DefaultStatusMaxAge = 24 * time.Hour

// ErrNotPresentable: the licence is revoked, suspended or superseded, so
// the wallet refuses to present it. The error is a *StatusError, which
// also matches ErrRevoked, ErrSuspended or ErrSuperseded and carries the
// message to show the holder.
var ErrNotPresentable = errors.New("mobilesdk: the licence is revoked, suspended or superseded and cannot be presented")

// The particular reasons behind ErrNotPresentable.
var (
	ErrRevoked    = errors.New("mobilesdk: the licence is revoked")
	ErrSuspended  = errors.New("mobilesdk: the licence is suspended")
	ErrSuperseded = errors.New("mobilesdk: the licence is superseded")
)

// StatusError is Present's refusal of a licence that is not valid. It
// matches ErrNotPresentable and the sentinel of its status.
type StatusError struct {
	ID          string // the licence
	Status      string // StatusRevoked, StatusSuspended or StatusSuperseded
	IssuerName  string // 颁发机构, whom the holder should contact
	RefreshedAt int64  // when the wallet read that status (Unix seconds; 0: the issuer said so when it was claimed)
}

func (e *StatusError) Error() string {
	when := "when it was claimed"
	if e.RefreshedAt > 0 {
		when = "at " + time.Unix(e.RefreshedAt, 0).UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("mobilesdk: licence %s is %s (status read %s) and cannot be presented", e.ID, e.Status, when)
}

// Is makes errors.Is match ErrNotPresentable and the status's sentinel.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotPresentable || target == statusSentinel(e.Status)
}

// Message is the refusal in the holder's language: "zh" (the default) or
// "en", e.g. "该证照已被吊销或注销，不能出示。请联系颁发机构上海市市场监督管理局。"
func (e *StatusError) Message(lang string) string { return refusal(e.Status, e.IssuerName, lang) }

func statusSentinel(s string) error {
	switch s {
	case StatusRevoked:
		return ErrRevoked
	case StatusSuspended:
		return ErrSuspended
	case StatusSuperseded:
		return ErrSuperseded
	}
	return nil
}

// blocked reports whether a licence in status s must not be presented.
func blocked(s string) bool { return statusSentinel(s) != nil }

func refusal(status, issuer, lang string) string {
	en := isEnglish(lang)
	contact := "请联系颁发机构。"
	if issuer != "" {
		contact = "请联系颁发机构" + issuer + "。"
	}
	contactEN := "Please contact the issuing agency."
	if issuer != "" {
		contactEN = "Please contact the issuing agency, " + issuer + "."
	}
	switch {
	case status == StatusRevoked && en:
		return "This licence has been revoked or cancelled and cannot be presented. " + contactEN
	case status == StatusRevoked:
		return "该证照已被吊销或注销，不能出示。" + contact
	case status == StatusSuspended && en:
		return "This licence is suspended and cannot be presented. " + contactEN
	case status == StatusSuspended:
		return "该证照已被暂停使用，不能出示。" + contact
	case status == StatusSuperseded && en:
		return "This licence has been replaced by a new one and cannot be presented. Show the new licence. " + contactEN
	case status == StatusSuperseded:
		return "该证照已换发新证，旧证不能出示。请出示新证照，或" + strings.TrimPrefix(contact, "请")
	}
	return ""
}

func isEnglish(lang string) bool { return strings.HasPrefix(strings.ToLower(lang), "en") }

// statusMaxAge is the age past which the licence's status counts as old:
// the class's max_status_staleness, else DefaultStatusMaxAge.
func statusMaxAge(class string) time.Duration {
	if cl, ok := catalog.Default().Lookup(class); ok && cl.MaxStatusStaleness > 0 {
		return cl.MaxStatusStaleness
	}
	return DefaultStatusMaxAge
}

// Presentable reports whether the wallet will present the licence: it is
// not known to be revoked, suspended or superseded.
func (l *Licence) Presentable() bool { return !blocked(l.Status) }

// StatusAge is how long ago (seconds, at Unix time now; 0 means the
// current time) the wallet last read the licence's status from a verified
// status list, or -1 if it never has.
func (l *Licence) StatusAge(now int64) int64 {
	if l.RefreshedAt == 0 {
		return -1
	}
	if now == 0 {
		now = time.Now().Unix()
	}
	return max(now-l.RefreshedAt, 0)
}

// StatusStale reports whether the status is unknown or older than
// StatusMaxAge at Unix time now (0: the current time). A stale licence is
// still presented, with StatusNote's warning: the counter checks the
// status itself.
func (l *Licence) StatusStale(now int64) bool {
	age := l.StatusAge(now)
	return l.Status == StatusUnknown || age < 0 || age > l.StatusMaxAge
}

// StatusNote is what the holder should read about the licence's status at
// Unix time now (0: the current time), in lang ("zh", the default, or
// "en"): the refusal for a licence that cannot be presented, a warning
// saying how old the status is when it is unknown or old, or "" when it
// is valid and current.
func (l *Licence) StatusNote(lang string, now int64) string {
	if blocked(l.Status) {
		return refusal(l.Status, l.IssuerName, lang)
	}
	if !l.StatusStale(now) {
		return ""
	}
	en := isEnglish(lang)
	age := l.StatusAge(now)
	switch {
	case age < 0 && en:
		return "The licence's current status has not been checked yet. It can still be shown; the counter checks it itself."
	case age < 0:
		return "尚未核实该证照的最新状态。仍可出示，窗口会自行核验。"
	case en:
		return "The status was last checked " + humanDuration(time.Duration(age)*time.Second, "en") + " ago. The licence can still be shown; the counter checks it itself."
	}
	return "证照状态已有 " + humanDuration(time.Duration(age)*time.Second, "zh") + "未更新。仍可出示，窗口会自行核验。"
}

// humanDuration writes d coarsely: days and hours, hours, or minutes.
func humanDuration(d time.Duration, lang string) string {
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if isEnglish(lang) {
		plural := func(n int, unit string) string {
			if n == 1 {
				return fmt.Sprintf("1 %s", unit)
			}
			return fmt.Sprintf("%d %ss", n, unit)
		}
		switch {
		case days > 0 && hours > 0:
			return plural(days, "day") + " " + plural(hours, "hour")
		case days > 0:
			return plural(days, "day")
		case hours > 0:
			return plural(hours, "hour")
		}
		return plural(max(mins, 1), "minute")
	}
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%d 天 %d 小时", days, hours)
	case days > 0:
		return fmt.Sprintf("%d 天", days)
	case hours > 0:
		return fmt.Sprintf("%d 小时", hours)
	}
	return fmt.Sprintf("%d 分钟", max(mins, 1))
}
